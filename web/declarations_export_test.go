package web

// SessionForTest opens a fully signed-in session for an account, as a passkey sign-in ends, and
// returns the cookie value. The HTTP tests reach staff pages with it; the browser test runs the real
// WebAuthn ceremony.
func (s *Server) SessionForTest(accountID int64) string {
	id, _ := s.sessions.create(accountID, false, s.Now())
	return id
}
