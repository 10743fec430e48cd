package dockerfake

import "slices"

// SetImageUser sets the USER of the image ref, which must be present.
func (f *Client) SetImageUser(ref, user string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	img := f.imageLocked(ref)
	if img == nil {
		panic("SetImageUser: no image " + ref)
	}
	img.User = user
}

// SetSecurityOptions sets the security options Info reports, as the engine
// lists them ("name=seccomp,profile=default", "name=apparmor").
func (f *Client) SetSecurityOptions(opts ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.info.SecurityOptions = slices.Clone(opts)
}
