package web_test

import (
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"amane"
	"amane/amanetest"
	"amane/web"
)

// Sign-in, sessions, CSRF and throttling over plain HTTP, with a fixed clock. (The browser test
// drives the same pages with passkeys; Go's cookie jar does not send Secure cookies over http, so
// these tests carry the cookie by hand.)

type pages struct {
	t       *testing.T
	r       *amanetest.Registry
	srv     *web.Server
	url     string
	mu      sync.Mutex
	now     time.Time
	secrets map[string]string
	ids     map[string]int64
}

func newPages(t *testing.T, r *amanetest.Registry) *pages {
	p := &pages{t: t, r: r, now: time.Now(), secrets: map[string]string{}, ids: map[string]int64{}}
	seed(t, r)
	p.srv = web.NewServer(r.Gate, r.Store, slog.New(slog.NewTextHandler(io.Discard, nil)))
	p.srv.SecretKey = make([]byte, web.SecretKeySize)
	rand.Read(p.srv.SecretKey)
	p.srv.Now = func() time.Time { p.mu.Lock(); defer p.mu.Unlock(); return p.now }
	hs := httptest.NewServer(p.srv)
	t.Cleanup(hs.Close)
	p.url = hs.URL
	p.account(amane.Account{Login: "paie-souss", Role: amane.RoleEmployer, Affiliation: "1234567"}, true)
	p.account(amane.Account{Login: "agent-0412", Role: amane.RoleAgent, Agency: "AGADIR"}, false)
	p.account(amane.Account{Login: "agent-0413", Role: amane.RoleAgent, Agency: "AGADIR"}, false)
	if err := r.Store.AddPasskey(context.Background(), amane.Passkey{AccountID: p.ids["agent-0413"], ID: []byte("cred-0413"), Credential: []byte(`{}`), Created: "2025-01-01T00:00:00Z"}); err != nil {
		t.Fatal(err)
	}
	return p
}

func (p *pages) advance(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.now = p.now.Add(d)
}

func (p *pages) account(a amane.Account, withTOTP bool) {
	h, err := web.HashPassword(testPassword)
	if err != nil {
		p.t.Fatal(err)
	}
	a.PasswordHash, a.Created = h, time.Now().UTC().Format(time.RFC3339)
	if withTOTP {
		sealed, uri, err := web.NewTOTP(p.srv.SecretKey, a.Login)
		if err != nil {
			p.t.Fatal(err)
		}
		k, _ := otp.NewKeyFromURL(uri)
		a.TOTP, p.secrets[a.Login] = sealed, k.Secret()
	}
	id, err := p.r.Store.CreateAccount(context.Background(), &a)
	if err != nil {
		p.t.Fatal(err)
	}
	p.ids[a.Login] = id
}

func (p *pages) code(login string, at time.Time) string {
	c, err := totp.GenerateCode(p.secrets[login], at)
	if err != nil {
		p.t.Fatal(err)
	}
	return c
}

// visitor is one browser: its session cookie and CSRF token.
type visitor struct {
	p      *pages
	cookie string
	csrf   string
}

var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func (v *visitor) do(method, path string, form url.Values, headers map[string]string) (*http.Response, string) {
	v.p.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, v.p.url+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if v.cookie != "" {
		req.AddCookie(&http.Cookie{Name: "__Host-amane-session", Value: v.cookie})
	}
	for k, val := range headers {
		req.Header.Set(k, val)
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		v.p.t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, c := range resp.Cookies() {
		if c.Name == "__Host-amane-session" {
			v.cookie = c.Value
		}
	}
	if m := csrfRE.FindStringSubmatch(string(b)); m != nil {
		v.csrf = m[1]
	}
	return resp, string(b)
}

var csrfRE = regexp.MustCompile(`<meta name="csrf" content="([^"]+)">`)

// signIn opens the sign-in page and posts the password form.
func (v *visitor) signIn(login, password, code string) (*http.Response, string) {
	v.p.t.Helper()
	v.do("GET", "/connexion", nil, nil)
	return v.do("POST", "/connexion", url.Values{"csrf": {v.csrf}, "login": {login}, "password": {password}, "code": {code}}, nil)
}

func TestPages(t *testing.T) { amanetest.Each(t, testPages) }

func testPages(t *testing.T, r *amanetest.Registry) {
	p := newPages(t, r)
	t.Run("HeadersAndCookie", func(t *testing.T) {
		resp, err := http.Get(p.url + "/connexion")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		want := "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
		if got := resp.Header.Get("Content-Security-Policy"); got != want {
			t.Errorf("CSP %q", got)
		}
		for h, v := range map[string]string{"Cache-Control": "no-store", "X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff"} {
			if resp.Header.Get(h) != v {
				t.Errorf("%s: %q", h, resp.Header.Get(h))
			}
		}
		var c *http.Cookie
		for _, k := range resp.Cookies() {
			if k.Name == "__Host-amane-session" {
				c = k
			}
		}
		if c == nil || !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.Domain != "" {
			t.Fatalf("session cookie %+v", c)
		}
		if regexp.MustCompile(`<script>|<script [^>]*>[^<]|<style|\sstyle=|\son[a-z]+=`).Match(body) {
			t.Errorf("the page has inline script or style:\n%s", body)
		}
	})
	t.Run("ErrNoCSRF", func(t *testing.T) {
		v := &visitor{p: p}
		v.do("GET", "/connexion", nil, nil)
		for name, form := range map[string]url.Values{
			"Missing": {"login": {"paie-souss"}, "password": {testPassword}},
			"Wrong":   {"csrf": {v.csrf + "x"}, "login": {"paie-souss"}, "password": {testPassword}},
		} {
			if resp, _ := v.do("POST", "/connexion", form, nil); resp.StatusCode != 403 {
				t.Errorf("%s: %d, want 403", name, resp.StatusCode)
			}
		}
		form := url.Values{"csrf": {v.csrf}, "login": {"paie-souss"}, "password": {testPassword}}
		if resp, _ := v.do("POST", "/connexion", form, map[string]string{"Origin": "https://evil.example"}); resp.StatusCode != 403 {
			t.Errorf("foreign origin: %d, want 403", resp.StatusCode)
		}
		if resp, _ := (&visitor{p: p}).do("POST", "/connexion", form, nil); resp.StatusCode != 403 {
			t.Errorf("no session: %d, want 403", resp.StatusCode)
		}
	})
	t.Run("PasswordAndTOTP", func(t *testing.T) {
		v := &visitor{p: p}
		v.do("GET", "/connexion", nil, nil)
		anonymous := v.cookie
		resp, _ := v.do("POST", "/connexion", url.Values{"csrf": {v.csrf}, "login": {"paie-souss"}, "password": {testPassword}, "code": {p.code("paie-souss", p.now)}}, nil)
		if resp.StatusCode != 303 || resp.Header.Get("Location") != "/mon-entreprise" {
			t.Fatalf("%d → %s", resp.StatusCode, resp.Header.Get("Location"))
		}
		if v.cookie == anonymous || v.cookie == "" {
			t.Fatal("the session id was not replaced at sign-in")
		}
		if resp, body := v.do("GET", "/mon-entreprise", nil, nil); resp.StatusCode != 200 || !strings.Contains(body, "Benaïssa") {
			t.Fatalf("signed-in page: %d", resp.StatusCode)
		}
		old := v.cookie
		if resp, _ := v.do("POST", "/deconnexion", url.Values{"csrf": {v.csrf}}, nil); resp.StatusCode != 303 {
			t.Fatalf("sign out: %d", resp.StatusCode)
		}
		v.cookie = old
		if resp, _ := v.do("GET", "/mon-entreprise", nil, nil); resp.StatusCode != 303 || resp.Header.Get("Location") != "/connexion" {
			t.Fatalf("after sign-out: %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
		// The same code, replayed: refused.
		if resp, _ := (&visitor{p: p}).signIn("paie-souss", testPassword, p.code("paie-souss", p.now)); resp.StatusCode != 401 {
			t.Fatalf("replayed code: %d", resp.StatusCode)
		}
	})
	t.Run("SameAnswerForEveryFailure", func(t *testing.T) {
		p.advance(time.Minute)
		var answers []string
		for _, tc := range [][3]string{
			{"paie-souss", "wrong", p.code("paie-souss", p.now)},
			{"paie-souss", testPassword, "000000"},
			{"nobody", testPassword, "123456"},
			{"agent-0413", testPassword, ""}, // staff with a passkey: the password is not a way in
		} {
			resp, body := (&visitor{p: p}).signIn(tc[0], tc[1], tc[2])
			if resp.StatusCode != 401 {
				t.Fatalf("%v: %d", tc, resp.StatusCode)
			}
			answers = append(answers, regexp.MustCompile(`(?s)<div class="erreur".*?</div>`).FindString(body))
		}
		for _, a := range answers[1:] {
			if a != answers[0] || a == "" {
				t.Fatalf("answers differ: %q", answers)
			}
		}
	})
	t.Run("Throttle", func(t *testing.T) {
		p.advance(25 * time.Hour) // earlier failures are forgotten
		for range 5 {
			if resp, _ := (&visitor{p: p}).signIn("paie-souss", "wrong", "000000"); resp.StatusCode != 401 {
				t.Fatalf("wrong password: %d", resp.StatusCode)
			}
		}
		resp, body := (&visitor{p: p}).signIn("paie-souss", testPassword, p.code("paie-souss", p.now))
		if resp.StatusCode != 401 || !strings.Contains(body, "incorrect") {
			t.Fatalf("a locked login signed in: %d", resp.StatusCode)
		}
		p.advance(31 * time.Second) // past the first delay
		if resp, _ := (&visitor{p: p}).signIn("paie-souss", testPassword, p.code("paie-souss", p.now)); resp.StatusCode != 303 {
			t.Fatalf("after the delay: %d", resp.StatusCode)
		}
	})
	t.Run("Timeouts", func(t *testing.T) {
		p.advance(time.Minute)
		v := &visitor{p: p}
		if resp, _ := v.signIn("paie-souss", testPassword, p.code("paie-souss", p.now)); resp.StatusCode != 303 {
			t.Fatalf("sign in: %d", resp.StatusCode)
		}
		p.advance(14 * time.Minute)
		if resp, _ := v.do("GET", "/mon-entreprise", nil, nil); resp.StatusCode != 200 {
			t.Fatalf("after 14 idle minutes: %d", resp.StatusCode)
		}
		p.advance(16 * time.Minute)
		if resp, _ := v.do("GET", "/mon-entreprise", nil, nil); resp.StatusCode != 303 {
			t.Fatalf("after 16 idle minutes: %d, want a redirect to sign in", resp.StatusCode)
		}
		p.advance(time.Minute)
		v = &visitor{p: p}
		if resp, _ := v.signIn("paie-souss", testPassword, p.code("paie-souss", p.now)); resp.StatusCode != 303 {
			t.Fatalf("sign in: %d", resp.StatusCode)
		}
		for range 8 * 6 { // active every 10 minutes for 8 hours
			p.advance(10 * time.Minute)
			if resp, _ := v.do("GET", "/mon-entreprise", nil, nil); resp.StatusCode != 200 {
				t.Fatalf("an active session ended before 8 hours: %d", resp.StatusCode)
			}
		}
		p.advance(time.Minute)
		if resp, _ := v.do("GET", "/mon-entreprise", nil, nil); resp.StatusCode != 303 {
			t.Fatalf("after 8 hours: %d, want a redirect to sign in", resp.StatusCode)
		}
	})
	t.Run("EndSessions", func(t *testing.T) {
		p.advance(time.Minute)
		v := &visitor{p: p}
		v.signIn("paie-souss", testPassword, p.code("paie-souss", p.now))
		p.srv.EndSessions(p.ids["paie-souss"])
		if resp, _ := v.do("GET", "/mon-entreprise", nil, nil); resp.StatusCode != 303 {
			t.Fatalf("after EndSessions: %d", resp.StatusCode)
		}
	})
	t.Run("StaffBootstrapOnlyRegisters", func(t *testing.T) {
		v := &visitor{p: p}
		resp, _ := v.signIn("agent-0412", testPassword, "")
		if resp.StatusCode != 303 || resp.Header.Get("Location") != "/cle" {
			t.Fatalf("bootstrap: %d → %s", resp.StatusCode, resp.Header.Get("Location"))
		}
		for _, path := range []string{"/recherche", "/salaries/1", "/journal", "/"} {
			if resp, _ := v.do("GET", path, nil, nil); resp.StatusCode != 303 || resp.Header.Get("Location") != "/cle" {
				t.Errorf("%s: %d → %s, want /cle", path, resp.StatusCode, resp.Header.Get("Location"))
			}
		}
		if resp, body := v.do("GET", "/cle", nil, nil); resp.StatusCode != 200 || !strings.Contains(body, "passkey-register") {
			t.Fatalf("/cle: %d", resp.StatusCode)
		}
		if resp, _ := v.do("POST", "/recherche", url.Values{"csrf": {v.csrf}, "nom": {"tazi"}}, nil); resp.StatusCode != 303 || resp.Header.Get("Location") != "/cle" {
			t.Errorf("POST /recherche: %d", resp.StatusCode)
		}
	})
	t.Run("ErrDisabled", func(t *testing.T) {
		p.advance(time.Minute)
		v := &visitor{p: p}
		v.signIn("paie-souss", testPassword, p.code("paie-souss", p.now))
		a, _ := r.Store.Account(context.Background(), p.ids["paie-souss"])
		a.Disabled = true
		if err := r.Store.UpdateAccount(context.Background(), a); err != nil {
			t.Fatal(err)
		}
		if resp, _ := v.do("GET", "/mon-entreprise", nil, nil); resp.StatusCode != 303 {
			t.Fatalf("a disabled account's session still works: %d", resp.StatusCode)
		}
		p.advance(time.Minute)
		if resp, _ := (&visitor{p: p}).signIn("paie-souss", testPassword, p.code("paie-souss", p.now)); resp.StatusCode != 401 {
			t.Fatalf("a disabled account signed in: %d", resp.StatusCode)
		}
	})
}
