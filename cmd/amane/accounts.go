package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"amane"
	"amane/ids"
	"amane/web"
)

// scopeFlags name what an account or a token may reach: an agency, an affiliation or a person.
type scopeFlags struct{ role, agency, affiliation, imm *string }

func (s *scopeFlags) register(fs *flag.FlagSet) {
	s.role = fs.String("role", "", "role: "+strings.Join(amane.Roles, ", "))
	s.agency = fs.String("agency", "", "agent: the agency code whose records it may reach")
	s.affiliation = fs.String("affiliation", "", "employer: its affiliation number")
	s.imm = fs.String("imm", "", "insured: the person's immatriculation")
}

var agencyRE = regexp.MustCompile(`^[A-Z][A-Z0-9-]{1,31}$`)

// resolve checks the role and its scope against the registry and returns the principal's reach.
func (s *scopeFlags) resolve(ctx context.Context, reg *registry) (agency, affiliation string, employeeID int64, err error) {
	role := *s.role
	if !slices.Contains(amane.Roles, role) {
		return "", "", 0, fmt.Errorf("%w: --role must be one of %s", errUsage, strings.Join(amane.Roles, ", "))
	}
	given := 0
	for _, v := range []string{*s.agency, *s.affiliation, *s.imm} {
		if v != "" {
			given++
		}
	}
	want := map[string]string{amane.RoleAgent: "--agency", amane.RoleEmployer: "--affiliation", amane.RoleInsured: "--imm"}[role]
	if (want == "" && given > 0) || (want != "" && given != 1) {
		if want == "" {
			return "", "", 0, fmt.Errorf("%w: role %s takes no --agency, --affiliation or --imm", errUsage, role)
		}
		return "", "", 0, fmt.Errorf("%w: role %s needs %s (and only it)", errUsage, role, want)
	}
	switch role {
	case amane.RoleAgent:
		if !agencyRE.MatchString(*s.agency) {
			return "", "", 0, fmt.Errorf("%w: --agency must be an agency code such as CASA-ANFA", errUsage)
		}
		return *s.agency, "", 0, nil
	case amane.RoleEmployer:
		aff, err := ids.ParseAffiliation(*s.affiliation)
		if err != nil {
			return "", "", 0, amane.Invalid(err.Error(), amane.FieldError{Field: "affiliation", Rule: err.Error()})
		}
		if _, err := reg.store.EmployerIDByAffiliation(ctx, aff); err != nil {
			return "", "", 0, err
		}
		return "", aff, 0, nil
	case amane.RoleInsured:
		id, err := reg.gate.ResolveInsured(systemContext(ctx, "resolve"), *s.imm)
		return "", "", id, err
	}
	return "", "", 0, nil
}

var loginRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{2,31}$`)

// cmdAccount: amane account add|list --data DIR …
func cmdAccount(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "add" && args[0] != "list") {
		return fmt.Errorf("%w: amane account add --data DIR --login HANDLE --role ROLE [--agency A | --affiliation N | --imm N] --password-file F | amane account list --data DIR", errUsage)
	}
	fs := flag.NewFlagSet("account "+args[0], flag.ContinueOnError)
	var d dataFlags
	d.register(fs)
	var sc scopeFlags
	sc.register(fs)
	login := fs.String("login", "", "a handle such as agent-0412: never a name, an e-mail or an identifier")
	totp := fs.Bool("totp", false, "employer or insured: also enrol a TOTP secret (printed once as an otpauth:// URI), the fallback to a passkey")
	pwFile := fs.String("password-file", "", "file holding the first password (else $AMANE_ACCOUNT_PASSWORD); staff replace it by a passkey at first sign-in")
	if err := parseFlags(fs, args[1:], stderr); err != nil {
		return err
	}
	reg, err := openRegistry(ctx, &d)
	if err != nil {
		return err
	}
	defer reg.Close()
	if args[0] == "list" {
		list, err := reg.store.Accounts(ctx)
		if err != nil {
			return err
		}
		for _, a := range list {
			keys, err := reg.store.Passkeys(ctx, a.ID)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "%d\t%s\t%s\t%s\tpasskeys=%d%s\n", a.ID, a.Login, a.Role, a.Principal().Scope(), len(keys), map[bool]string{true: "\tdisabled"}[a.Disabled])
		}
		return nil
	}
	if !loginRE.MatchString(*login) || looksLikeIdentifier(*login) {
		return fmt.Errorf("%w: --login must be a handle of 3 to 32 lowercase letters, digits, . _ - (not a name, e-mail or identifier)", errUsage)
	}
	agency, aff, emp, err := sc.resolve(ctx, reg)
	if err != nil {
		return err
	}
	pw, err := readSecret(*pwFile, "AMANE_ACCOUNT_PASSWORD")
	if err != nil {
		return err
	}
	if len(pw) < 12 {
		return amane.Invalid("The password must be at least 12 characters.", amane.FieldError{Field: "password", Rule: "at least 12 characters"})
	}
	hash, err := web.HashPassword(pw)
	if err != nil {
		return err
	}
	a := &amane.Account{Login: *login, Role: *sc.role, Agency: agency, Affiliation: aff, EmployeeID: emp,
		PasswordHash: hash, Created: time.Now().UTC().Format(time.RFC3339)}
	id, err := reg.store.CreateAccount(ctx, a)
	if err != nil {
		return err
	}
	a.ID = id
	fmt.Fprintf(stdout, "Account %d: %s, role %s", id, a.Login, a.Role)
	if s := a.Principal().Scope(); s != "" {
		fmt.Fprintf(stdout, ", scope %s", s)
	}
	fmt.Fprintln(stdout)
	if amane.StaffRole(a.Role) {
		fmt.Fprintln(stdout, "Staff: the first sign-in with this password only registers a passkey; from then on, the passkey alone signs in.")
		return nil
	}
	if *totp {
		key, err := webSecret(d.dir)
		if err != nil {
			return err
		}
		sealed, uri, err := web.NewTOTP(key, a.Login)
		if err != nil {
			return err
		}
		a.TOTP = sealed
		if err := reg.store.UpdateAccount(ctx, a); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "TOTP (fallback to a passkey): add this to an authenticator app, shown once:\n%s\n", uri)
	}
	return nil
}

// looksLikeIdentifier reports whether a handle is a person's identifier (CIN, immatriculation, phone).
func looksLikeIdentifier(s string) bool {
	u := strings.ToUpper(s)
	if _, err := ids.ParseCIN(u); err == nil {
		return true
	}
	if _, err := ids.ParseImmatriculation(s); err == nil {
		return true
	}
	_, err := ids.ParsePhone(s)
	return err == nil
}

// readSecret reads a secret from a file, else from an environment variable: never from the command line.
func readSecret(file, env string) (string, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", err
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	}
	if v := os.Getenv(env); v != "" {
		return v, nil
	}
	return "", errors.New("give the password in a file (--password-file) or in $" + env)
}

// cmdToken: amane token create --data DIR --role ROLE [scope] [--ttl D] [--label L]: a scoped,
// expiring bearer token for an integration, printed once and stored as a hash.
func cmdToken(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "create" && args[0] != "revoke") {
		return fmt.Errorf("%w: amane token create --data DIR --role ROLE [--agency A | --affiliation N | --imm N] [--ttl D] [--label L] | amane token revoke --data DIR --id N", errUsage)
	}
	fs := flag.NewFlagSet("token "+args[0], flag.ContinueOnError)
	var d dataFlags
	d.register(fs)
	var sc scopeFlags
	sc.register(fs)
	ttl := fs.Duration("ttl", 30*24*time.Hour, "lifetime (at most 1 year)")
	label := fs.String("label", "", "what the token is for (no personal data)")
	id := fs.Int64("id", 0, "revoke: the token's id")
	account := fs.String("account", "", "create: issue the token to this account's login; it acts as the account (role and scope)")
	if err := parseFlags(fs, args[1:], stderr); err != nil {
		return err
	}
	reg, err := openRegistry(ctx, &d)
	if err != nil {
		return err
	}
	defer reg.Close()
	if args[0] == "revoke" {
		if err := reg.store.RevokeToken(ctx, *id); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "Token %d revoked.\n", *id)
		return nil
	}
	if *ttl <= 0 || *ttl > 366*24*time.Hour {
		return fmt.Errorf("%w: --ttl must be between 1s and 1 year", errUsage)
	}
	tok := web.NewAccessToken()
	now := time.Now().UTC()
	t := &amane.Token{Hash: web.TokenHash(tok), Label: *label, Created: now.Format(time.RFC3339), Expires: now.Add(*ttl).Format(time.RFC3339)}
	if *account != "" {
		if *sc.role != "" || *sc.agency != "" || *sc.affiliation != "" || *sc.imm != "" {
			return fmt.Errorf("%w: --account takes the account's role and scope; give no --role, --agency, --affiliation or --imm", errUsage)
		}
		a, err := reg.store.AccountByLogin(ctx, *account)
		if err != nil {
			return err
		}
		if a.Disabled {
			return amane.Errorf(amane.EFORBIDDEN, "This account is disabled.")
		}
		t.AccountID, t.Role, t.Agency, t.Affiliation, t.EmployeeID = a.ID, a.Role, a.Agency, a.Affiliation, a.EmployeeID
	} else {
		agency, aff, emp, err := sc.resolve(ctx, reg)
		if err != nil {
			return err
		}
		t.Role, t.Agency, t.Affiliation, t.EmployeeID = *sc.role, agency, aff, emp
	}
	tid, err := reg.store.AddToken(ctx, t)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Token %d, role %s, expires %s. Shown once; keep it secret:\n%s\n", tid, t.Role, t.Expires, tok)
	return nil
}
