package vault

// UnwrappedBytes lets this package's tests compare what a KeyWrapper unwrapped; outside tests no
// function reads an UnwrappedKey's bytes but the vault's own.
func UnwrappedBytes(u *UnwrappedKey) []byte {
	if u == nil {
		return nil
	}
	return u.b
}
