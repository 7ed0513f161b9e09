package amane

import (
	"errors"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"amane/ids"

	"golang.org/x/text/unicode/norm"
)

// Normalize validates every field of the employer, normalizes identifiers in place (upper-case CIN,
// +212 phone, lower-case e-mail) and returns every problem at once, nil if none. Messages name the
// field and the rule, never the value.
func (e *Employer) Normalize() []FieldError {
	var errs fieldErrors
	e.Affiliation = errs.id("affiliation", e.Affiliation, ids.ParseAffiliation)
	errs.text("raison_sociale", &e.Name, 1, 200)
	errs.text("activite", &e.Activity, 1, 200)
	errs.text("adresse", &e.Address, 1, 300)
	errs.text("ville", &e.City, 1, 100)
	errs.date("date_adhesion", e.AdhesionDate)
	errs.date("date_affiliation", e.AffiliationDate)
	e.ICE = errs.id("ice", e.ICE, ids.ParseICE)
	e.RC = errs.id("rc", e.RC, ids.ParseRC)
	e.TP = errs.id("tp", e.TP, ids.ParseTP)
	e.IF = errs.id("if", e.IF, ids.ParseIF)
	errs.oneOf("forme_juridique", e.LegalForm, LegalForms)
	errs.agency("agence", e.Agency)
	errs.oneOf("etat_compte", e.AccountState, []string{AccountActive, AccountSuspended, AccountStruckOff})
	errs.text("representant_nom", &e.Representative.Surname, 1, 100)
	errs.text("representant_prenom", &e.Representative.FirstName, 1, 100)
	e.Representative.CIN = errs.id("representant_cin", e.Representative.CIN, ids.ParseCIN)
	e.Email = errs.id("email", e.Email, ids.ParseEmail)
	e.Phone = errs.id("telephone", e.Phone, ids.ParsePhone)
	errs.oneOf("mode_telepaiement", e.PaymentMode, []string{PayTransfer, PayDirectDebit, PayATM, PayCard})
	e.RIB = errs.id("rib", e.RIB, ids.ParseRIB)
	e.BankCode = errs.id("code_banque", e.BankCode, ids.ParseBankCode)
	if len(e.RIB) == 24 && len(e.BankCode) == 3 && e.RIB[:3] != e.BankCode {
		errs.add("code_banque", "must equal the first 3 digits of the RIB")
	}
	errs.date("date_creation_compte", e.BankAccountDate)
	if e.Mandataire != "" {
		errs.text("mandataire", &e.Mandataire, 1, 200)
	}
	return errs
}

// Normalize validates every field of the insured person and normalizes identifiers in place.
// Exactly one of CIN and passport is required.
func (e *Employee) Normalize() []FieldError {
	var errs fieldErrors
	e.Immatriculation = errs.id("immatriculation", e.Immatriculation, ids.ParseImmatriculation)
	switch {
	case e.CIN != "" && e.Passport != "":
		errs.add("passeport", "give a CIN or a passport number, not both")
	case e.CIN != "":
		e.CIN = errs.id("cin", e.CIN, ids.ParseCIN)
	case e.Passport != "":
		e.Passport = errs.id("passeport", e.Passport, ids.ParsePassport)
	default:
		errs.add("cin", "is required (or passeport, for a foreign employee)")
	}
	errs.text("nom", &e.Surname, 1, 100)
	errs.text("prenom", &e.FirstName, 1, 100)
	errs.date("date_affiliation", e.AffiliationDate)
	for i := range e.Employments {
		j := &e.Employments[i]
		j.Affiliation = errs.id("emplois.affiliation", j.Affiliation, ids.ParseAffiliation)
		errs.date("emplois.depuis", j.Since)
		errs.oneOf("emplois.etat", j.State, []string{EmploymentValidated, EmploymentPending, EmploymentRejected})
		if j.EmployerName != "" { // informational (the employer's name as the sender knows it)
			errs.text("emplois.employeur", &j.EmployerName, 1, 200)
		}
	}
	return errs
}

type fieldErrors []FieldError

func (errs *fieldErrors) add(field, rule string) {
	*errs = append(*errs, FieldError{Field: field, Rule: rule})
}

func (errs *fieldErrors) id(field, v string, parse func(string) (string, error)) string {
	out, err := parse(strings.TrimSpace(v))
	var ie *ids.Error
	if errors.As(err, &ie) {
		ie.Field = field
		errs.add(field, strings.TrimPrefix(ie.Error(), field+": "))
		return v
	} else if err != nil {
		errs.add(field, err.Error())
		return v
	}
	return out
}

// text checks a free-text field: valid UTF-8, no control characters, length in runes within bounds.
func (errs *fieldErrors) text(field string, v *string, min, max int) {
	s := strings.TrimSpace(*v)
	*v = s
	if !utf8.ValidString(s) {
		errs.add(field, "must be valid UTF-8")
		return
	}
	n := 0
	for i, r := range s {
		n++
		if unicode.IsControl(r) {
			errs.add(field, "character "+itoa(utf8.RuneCountInString(s[:i])+1)+": control characters are not allowed")
			return
		}
	}
	if n < min {
		errs.add(field, "is required")
	} else if n > max {
		errs.add(field, "must be at most "+itoa(max)+" characters")
	}
}

func (errs *fieldErrors) date(field, v string) {
	if v == "" {
		errs.add(field, "is required")
		return
	}
	if _, err := time.Parse(time.DateOnly, v); err != nil {
		errs.add(field, "must be a date written YYYY-MM-DD")
	}
}

func (errs *fieldErrors) oneOf(field, v string, allowed []string) {
	if !slices.Contains(allowed, v) {
		errs.add(field, "must be one of: "+strings.Join(allowed, ", "))
	}
}

// agency checks an agency code's shape: upper-case words joined by dashes.
func (errs *fieldErrors) agency(field, v string) {
	ok := v != "" && len(v) <= 40 && v[0] != '-' && v[len(v)-1] != '-' && !strings.Contains(v, "--")
	for i := 0; ok && i < len(v); i++ {
		ok = v[i] >= 'A' && v[i] <= 'Z' || v[i] == '-'
	}
	if !ok {
		errs.add(field, "must be an agency code: upper-case words joined by dashes, e.g. CASA-ANFA")
	}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}

// NameWords splits a name into the words that name search indexes and matches: Unicode-decomposed,
// combining marks dropped (é → e, ï → i), lower-cased, split at anything that is not a letter or a
// digit ("Fatima-Zahra El Idrissi" → fatima, zahra, el, idrissi). Duplicates are removed, order kept.
func NameWords(name string) []string {
	var words []string
	var b strings.Builder
	flush := func() {
		if b.Len() > 0 {
			w := b.String()
			if !slices.Contains(words, w) {
				words = append(words, w)
			}
			b.Reset()
		}
	}
	if !isASCII(name) { // decomposition only matters, and only costs, beyond ASCII
		name = norm.NFD.String(name)
	}
	for _, r := range name {
		switch {
		case unicode.Is(unicode.Mn, r):
			// a combining accent: dropped so that "Saïd" and "Said" meet
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(unicode.ToLower(r))
		default:
			flush()
		}
	}
	flush()
	return words
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
