package lifecycle

import (
	"context"
	"fmt"

	"github.com/vk-docker/vk-docker/translate"
)

// securityEngine answers translate.ApplySecurity's questions from the
// node's engine.
type securityEngine struct{ rt *Runtime }

var _ translate.Engine = securityEngine{}

func (e securityEngine) ImageUser(ctx context.Context, image string) (string, error) {
	img, err := e.rt.Docker.ImageInspect(ctx, image)
	if err != nil {
		return "", fmt.Errorf("inspect image %s: %w", image, err)
	}
	if img.Config == nil {
		return "", nil
	}
	return img.Config.User, nil
}

func (e securityEngine) Enforces(ctx context.Context, module string) (bool, error) {
	return e.rt.engineEnforces(ctx, module)
}
