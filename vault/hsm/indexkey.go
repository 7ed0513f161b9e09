package hsm

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Index-key file (JSON, 0600):
//
//	{"format":"amane-hsm-index-key/v1","version":N,"wrapped":base64}
//
// wrapped = nonce ‖ AES-256-GCM(KEK vN on the token, nonce, index key, "amane/index-key/v1") ‖ tag.
const (
	indexKeyFormat = "amane-hsm-index-key/v1"
	labelIndexKey  = "amane/index-key/v1"
)

type indexKeyFile struct {
	Format  string `json:"format"`
	Version uint32 `json:"version"`
	Wrapped []byte `json:"wrapped"`
}

// CreateIndexKey writes a new random blind-index key at path, wrapped under h's current KEK version.
// It refuses to overwrite an existing file.
func CreateIndexKey(path string, h *HSM) error {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return err
	}
	defer clear(key)
	b, err := sealIndexKey(h, key)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("hsm: index key: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("hsm: index key: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("hsm: index key: %w", err)
	}
	return f.Close()
}

func sealIndexKey(h *HSM, key []byte) ([]byte, error) {
	v := h.CurrentVersion()
	w, err := h.Wrap(v, key, []byte(labelIndexKey))
	if err != nil {
		return nil, fmt.Errorf("hsm: index key: %w", err)
	}
	return json.MarshalIndent(&indexKeyFile{Format: indexKeyFormat, Version: v, Wrapped: w}, "", "  ")
}

// OpenIndexKey reads the index-key file at path and unwraps the key on the token.
func OpenIndexKey(path string, h *HSM) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("hsm: index key: %w", err)
	}
	var f indexKeyFile
	if err := json.Unmarshal(b, &f); err != nil || f.Format != indexKeyFormat {
		return nil, fmt.Errorf("hsm: %s is not an Amane index-key file", path)
	}
	key, err := h.unwrap(f.Version, f.Wrapped, []byte(labelIndexKey))
	if err != nil {
		return nil, fmt.Errorf("hsm: index key %s: %w", path, err)
	}
	if len(key) != 32 {
		clear(key)
		return nil, errors.New("hsm: the index key is not 32 bytes")
	}
	return key, nil
}

// RewrapIndexKey rewraps the index key at path under h's current KEK version, replacing the file
// atomically. Run it after AddVersion and before RemoveVersion of the version it was wrapped under.
func RewrapIndexKey(path string, h *HSM) error {
	key, err := OpenIndexKey(path, h)
	if err != nil {
		return err
	}
	defer clear(key)
	b, err := sealIndexKey(h, key)
	if err != nil {
		return err
	}
	return writeFileAtomic(path, b)
}

// writeFileAtomic replaces path by a file holding b, mode 0600: temporary file in the same directory,
// fsync, rename, fsync of the directory.
func writeFileAtomic(path string, b []byte) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("hsm: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err = f.Chmod(0o600); err != nil {
		return fmt.Errorf("hsm: %w", err)
	}
	if _, err = f.Write(b); err != nil {
		return fmt.Errorf("hsm: %w", err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("hsm: %w", err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("hsm: %w", err)
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("hsm: %w", err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("hsm: %w", err)
	}
	defer d.Close()
	if err = d.Sync(); err != nil {
		return fmt.Errorf("hsm: %w", err)
	}
	return nil
}

// IndexKeyPath is the file of blind-index key version v: path itself for version 1, path with "-v<N>"
// before its extension for later versions (amane keys reindex).
func IndexKeyPath(path string, v uint32) string {
	if v <= 1 {
		return path
	}
	ext := filepath.Ext(path)
	return fmt.Sprintf("%s-v%d%s", path[:len(path)-len(ext)], v, ext)
}

// AddIndexKey writes a new random blind-index key as the next version after path's existing ones and
// returns its version and the key.
func AddIndexKey(path string, h *HSM) (uint32, []byte, error) {
	v := uint32(2)
	for ; ; v++ {
		if _, err := os.Stat(IndexKeyPath(path, v)); errors.Is(err, os.ErrNotExist) {
			break
		}
	}
	if err := CreateIndexKey(IndexKeyPath(path, v), h); err != nil {
		return 0, nil, err
	}
	k, err := OpenIndexKey(IndexKeyPath(path, v), h)
	return v, k, err
}
