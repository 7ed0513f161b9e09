package hsm

// UnwrapBytes is Unwrap with the key's bytes, for this package's tests only (vault.UnwrappedKey has
// no accessor outside the vault).
func (h *HSM) UnwrapBytes(version uint32, wrapped, ad []byte) ([]byte, error) {
	return h.unwrap(version, wrapped, ad)
}
