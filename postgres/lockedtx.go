package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// lockedTx is a long transaction on a connection of its own that holds tables against other writers
// (SHARE ROW EXCLUSIVE: readers go on) until it ends: the bulk loader and the reindexer.
type lockedTx struct {
	ctx  context.Context
	conn *pgxpool.Conn
	tx   pgx.Tx // nil once ended
}

// beginLocked starts the transaction and locks tables (a constant list of table names).
func (s *Store) beginLocked(ctx context.Context, tables string) (*lockedTx, error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		conn.Release()
		return nil, err
	}
	t := &lockedTx{ctx: ctx, conn: conn, tx: tx}
	if _, err := tx.Exec(ctx, `LOCK TABLE `+tables+` IN SHARE ROW EXCLUSIVE MODE`); err != nil {
		t.rollback()
		return nil, err
	}
	return t, nil
}

// commit commits; on failure it rolls back. Either way the connection stays held until release.
func (t *lockedTx) commit() error {
	err := t.tx.Commit(t.ctx)
	if err != nil {
		t.tx.Rollback(context.Background())
	}
	t.tx = nil
	return err
}

// rollback ends the transaction, if still open, and releases the connection.
func (t *lockedTx) rollback() error {
	if t.tx == nil {
		return nil
	}
	err := t.tx.Rollback(context.Background())
	t.tx = nil
	t.conn.Release()
	return err
}
