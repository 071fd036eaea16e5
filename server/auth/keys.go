package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Errors of signing keys.
var (
	// ErrKeyFileMode means the key file may be read by others than its owner.
	ErrKeyFileMode = errors.New("auth: key file is readable by others than its owner")
	// ErrBadKey means a key file or DENGJI_SIGNING_KEY cannot be read as keys.
	ErrBadKey = errors.New("auth: bad signing key")
	// ErrNoKey means a key ID is not in the key set.
	ErrNoKey = errors.New("auth: no such key")
)

// LegacyKeyID names the key an older version kept in the data file, once
// moved to the key file: its tokens carry no kid.
const LegacyKeyID = "legacy"

// minKeyBytes is the shortest secret accepted: HS256 wants 256 bits.
const minKeyBytes = 32

// Key is one signing key.
type Key struct {
	ID      string    `json:"id"`
	Secret  []byte    `json:"secret"` // base64 in the file
	Created time.Time `json:"created"`
}

// KeySet holds the keys tokens are checked with; the last one signs. Older
// keys keep verifying the tokens they signed until they are removed, so a
// rotation signs nobody out.
type KeySet struct {
	keys []Key
}

// NewKeySet returns a set of one fresh key, held in memory only.
func NewKeySet() *KeySet { return &KeySet{keys: []Key{NewSigningKey()}} }

// KeySetOf returns a set of the given keys, the last of which signs.
func KeySetOf(keys ...Key) *KeySet { return &KeySet{keys: append([]Key(nil), keys...)} }

// NewSigningKey returns a fresh random key with a random ID.
func NewSigningKey() Key {
	id := make([]byte, 6)
	rand.Read(id)
	return Key{ID: hex.EncodeToString(id), Secret: NewKey(), Created: time.Now().UTC().Truncate(time.Second)}
}

// KeyFromSecret is a key whose ID is derived from its secret (for keys given
// in the environment, which carry no ID).
func KeyFromSecret(secret []byte) Key {
	sum := sha256.Sum256(secret)
	return Key{ID: "env-" + hex.EncodeToString(sum[:6]), Secret: secret}
}

// Keys lists the keys, oldest first.
func (s *KeySet) Keys() []Key { return append([]Key(nil), s.keys...) }

// signing is the key new tokens are signed with.
func (s *KeySet) signing() Key { return s.keys[len(s.keys)-1] }

func (s *KeySet) lookup(id string) (Key, bool) {
	if id == "" {
		id = LegacyKeyID
	}
	for _, k := range s.keys {
		if k.ID == id {
			return k, true
		}
	}
	return Key{}, false
}

func (s *KeySet) validate() error {
	if len(s.keys) == 0 {
		return fmt.Errorf("%w: no key", ErrBadKey)
	}
	seen := map[string]bool{}
	for _, k := range s.keys {
		switch {
		case k.ID == "" || seen[k.ID]:
			return fmt.Errorf("%w: missing or repeated key id %q", ErrBadKey, k.ID)
		case len(k.Secret) < minKeyBytes:
			return fmt.Errorf("%w: key %s shorter than %d bytes", ErrBadKey, k.ID, minKeyBytes)
		}
		seen[k.ID] = true
	}
	return nil
}

// ParseEnvKeys reads DENGJI_SIGNING_KEY's form: one or more base64 secrets
// of at least 32 bytes, separated by commas; the last one signs.
func ParseEnvKeys(v string) (*KeySet, error) {
	var ks KeySet
	for _, part := range strings.Split(v, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		secret, err := base64.StdEncoding.DecodeString(part)
		if err != nil {
			secret, err = base64.RawURLEncoding.DecodeString(strings.TrimRight(part, "="))
		}
		if err != nil {
			return nil, fmt.Errorf("%w: DENGJI_SIGNING_KEY is not base64", ErrBadKey)
		}
		ks.keys = append(ks.keys, KeyFromSecret(secret))
	}
	if err := ks.validate(); err != nil {
		return nil, err
	}
	return &ks, nil
}

type keyFile struct {
	Keys []Key `json:"keys"`
}

// LoadKeyFile reads the key file at path. A file that group or others may
// read or write is refused (ErrKeyFileMode): a copy of the key mints any
// account's tokens.
func LoadKeyFile(path string) (*KeySet, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%w: %s has mode %v, want 0600 (chmod 600 %s)", ErrKeyFileMode, path, fi.Mode().Perm(), path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var kf keyFile
	if err := json.Unmarshal(b, &kf); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrBadKey, path, err)
	}
	ks := &KeySet{keys: kf.Keys}
	if err := ks.validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return ks, nil
}

// OpenKeyFile loads the key file at path, creating it (mode 0600, with
// first as its key, or a fresh one if first is nil) when it does not exist.
// created reports whether it did.
func OpenKeyFile(path string, first *Key) (ks *KeySet, created bool, err error) {
	ks, err = LoadKeyFile(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return ks, false, err
	}
	k := NewSigningKey()
	if first != nil {
		k = *first
	}
	ks = KeySetOf(k)
	if err := ks.validate(); err != nil {
		return nil, false, err
	}
	if err := writeKeyFile(path, ks, true); err != nil {
		return nil, false, err
	}
	return ks, true, nil
}

// RotateKeyFile adds a fresh key to the file, which signs from the next
// start on; the older keys keep verifying. It returns the new key's ID.
func RotateKeyFile(path string) (string, error) {
	ks, err := LoadKeyFile(path)
	if err != nil {
		return "", err
	}
	k := NewSigningKey()
	ks.keys = append(ks.keys, k)
	return k.ID, writeKeyFile(path, ks, false)
}

// AddKey adds k to the file as the oldest key: it verifies, never signs.
func AddKey(path string, k Key) error {
	ks, err := LoadKeyFile(path)
	if err != nil {
		return err
	}
	if _, ok := ks.lookup(k.ID); ok {
		return nil
	}
	if k.Created.IsZero() {
		k.Created = time.Now().UTC().Truncate(time.Second)
	}
	ks.keys = append([]Key{k}, ks.keys...)
	if err := ks.validate(); err != nil {
		return err
	}
	return writeKeyFile(path, ks, false)
}

// RemoveKey removes a key from the file: tokens it signed stop working. The
// signing (newest) key cannot be removed.
func RemoveKey(path, id string) error {
	ks, err := LoadKeyFile(path)
	if err != nil {
		return err
	}
	if _, ok := ks.lookup(id); !ok {
		return fmt.Errorf("%w: %s", ErrNoKey, id)
	}
	if ks.signing().ID == id {
		return fmt.Errorf("%w: %s is the signing key; rotate first", ErrBadKey, id)
	}
	var keep []Key
	for _, k := range ks.keys {
		if k.ID != id {
			keep = append(keep, k)
		}
	}
	ks.keys = keep
	return writeKeyFile(path, ks, false)
}

// writeKeyFile writes the set through a temporary file renamed into place,
// so a crash leaves the old file or the new one, never half of one.
func writeKeyFile(path string, ks *KeySet, exclusive bool) error {
	b, err := json.MarshalIndent(keyFile{Keys: ks.keys}, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("auth: key file directory: %w", err)
	}
	if exclusive {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return fmt.Errorf("auth: create key file: %w", err)
		}
		if _, err := f.Write(append(b, '\n')); err != nil {
			f.Close()
			return fmt.Errorf("auth: write key file: %w", err)
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".dengji-keys-*")
	if err != nil {
		return fmt.Errorf("auth: write key file: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("auth: write key file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
