// Package migrate lists a store's numbered migrations (migrations/NNN_name.sql, embedded), for the
// SQLite and PostgreSQL stores, which each apply them in their own dialect and transaction.
package migrate

import (
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
)

// Migration is one numbered SQL file.
type Migration struct {
	Version int
	Name    string // the file name, for messages
	SQL     string
}

// List returns the migrations under migrations/ in fsys, in version order.
func List(fsys fs.FS) ([]Migration, error) {
	names, err := fs.Glob(fsys, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	out := make([]Migration, 0, len(names))
	for i, name := range names {
		base := strings.TrimPrefix(name, "migrations/")
		n, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
		if err != nil || n != i+1 {
			return nil, fmt.Errorf("migration %s: expected number %03d", base, i+1)
		}
		body, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		out = append(out, Migration{Version: n, Name: base, SQL: string(body)})
	}
	return out, nil
}

// Pending returns the migrations after version cur, or an error if the database is newer than the
// binary.
func Pending(all []Migration, cur int) ([]Migration, error) {
	if cur > len(all) {
		return nil, fmt.Errorf("the database schema (version %d) is newer than this binary (%d): upgrade Amane", cur, len(all))
	}
	return all[cur:], nil
}
