package dockerhost

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/image"
	"github.com/virtual-kubelet/virtual-kubelet/log"
)

// PauseBinaryPath is where the pause program lives in the project's pause
// image.
const PauseBinaryPath = "/pause"

//go:embed pausebin
var pauseFS embed.FS

// DefaultPauseImageRepo is the repository of the project's own pause image;
// its tag is the vk-docker version.
const DefaultPauseImageRepo = "vk-docker/pause"

// PauseBinary returns the static pause program built into this binary.
func PauseBinary() ([]byte, error) {
	b, err := fs.ReadFile(pauseFS, "pausebin/pause")
	if err != nil {
		return nil, fmt.Errorf("this vk-docker was built without its pause program (build it with `make build`): %w", err)
	}
	return b, nil
}

// EnsurePauseImage makes sure ref exists on the engine. The project's own
// image (repository DefaultPauseImageRepo) is built from the embedded pause
// program when it is missing or was built from a different program, which
// needs no registry; any other image is pulled when missing.
func EnsurePauseImage(ctx context.Context, c Client, ref string) error {
	own := ImageRepo(ref) == DefaultPauseImageRepo
	inspect, inspectErr := c.ImageInspect(ctx, ref)
	switch {
	case inspectErr != nil && !cerrdefs.IsNotFound(inspectErr):
		return fmt.Errorf("inspect pause image %s: %w", ref, inspectErr)
	case inspectErr == nil && !own:
		warnWithoutPauseProgram(ctx, ref, inspect)
		return nil
	case inspectErr != nil && !own:
		log.G(ctx).WithField("image", ref).Info("Pulling pause image")
		if err := c.ImagePull(ctx, ref, image.PullOptions{}); err != nil {
			return fmt.Errorf("pull pause image %s: %w", ref, err)
		}
		pulled, err := c.ImageInspect(ctx, ref)
		if err != nil {
			return fmt.Errorf("inspect pause image %s: %w", ref, err)
		}
		warnWithoutPauseProgram(ctx, ref, pulled)
		return nil
	}

	bin, err := PauseBinary()
	if err != nil {
		return err
	}
	sum := sha256.Sum256(bin)
	digest := hex.EncodeToString(sum[:])
	if inspectErr == nil && inspect.Config != nil && inspect.Config.Labels[LabelPauseSHA256] == digest {
		return nil
	}
	log.G(ctx).WithField("image", ref).Info("Building pause image from the embedded pause program")
	rootfs, err := pauseRootFS(bin)
	if err != nil {
		return err
	}
	changes := []string{
		`ENTRYPOINT ["/pause"]`,
		"LABEL " + LabelPauseSHA256 + "=" + digest,
	}
	if err := c.ImageImport(ctx, rootfs, ref, changes); err != nil {
		return fmt.Errorf("import pause image %s: %w", ref, err)
	}
	if inspectErr == nil {
		removeReplacedImage(ctx, c, ref, inspect.ID)
	}
	return nil
}

// warnWithoutPauseProgram says when a sandbox image was not built from
// vk-docker's pause program (whose label a retagged or pushed copy keeps):
// pods whose volumes, subPaths or in-sandbox probes need /pause will fail.
func warnWithoutPauseProgram(ctx context.Context, ref string, img image.InspectResponse) {
	if img.Config != nil && img.Config.Labels[LabelPauseSHA256] != "" {
		return
	}
	log.G(ctx).WithField("image", ref).Warn("The pause image lacks vk-docker's pause program: pods with volumes, subPaths or in-sandbox probes will fail. Serve a copy of vk-docker's own (`vk-docker pause-image`, then docker tag and push)")
}

// removeReplacedImage removes the image a rebuild took the tag from, which
// would otherwise stay on the engine untagged. Sandboxes still running on
// it keep it; the engine's image prune takes it once they are gone.
func removeReplacedImage(ctx context.Context, c Client, ref, id string) {
	logger := log.G(ctx).WithFields(log.Fields{"image": ref, "replaced": id})
	switch err := c.ImageRemove(ctx, id); {
	case err == nil:
		logger.Info("Removed the pause image the rebuild replaced")
	case cerrdefs.IsNotFound(err):
	case cerrdefs.IsConflict(err):
		logger.Info("The pause image the rebuild replaced is still used by sandboxes; it stays until they are gone")
	default:
		logger.WithError(err).Warn("Cannot remove the pause image the rebuild replaced")
	}
}

// pauseRootFS is a tarball holding only /pause.
func pauseRootFS(bin []byte) (*bytes.Buffer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: "pause", Mode: 0o755, Size: int64(len(bin)), Typeflag: tar.TypeReg}); err != nil {
		return nil, fmt.Errorf("pause rootfs: %w", err)
	}
	if _, err := tw.Write(bin); err != nil {
		return nil, fmt.Errorf("pause rootfs: %w", err)
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("pause rootfs: %w", err)
	}
	return &buf, nil
}

// ImageRepo strips the tag or digest from an image reference.
func ImageRepo(ref string) string {
	if i := strings.IndexByte(ref, '@'); i >= 0 {
		ref = ref[:i]
	}
	slash := strings.LastIndexByte(ref, '/')
	if i := strings.LastIndexByte(ref, ':'); i > slash {
		ref = ref[:i]
	}
	return ref
}
