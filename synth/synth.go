// Package synth generates a synthetic social-security registry: employers (ADHERENTS.csv) and their
// insured employees (SALARIES.csv), in the shape of the files taken from CNSS in 2025, for tests,
// benchmarks and demonstrations.
//
// Everything is invented. Names come from short lists of common Moroccan first names and surnames;
// company names, addresses and accounting firms are assembled from place and trade words that contain no
// person name; identifiers are built to pass the checks of package ids (ICE and RIB keys by ids.Key97);
// e-mail addresses use only the reserved .example top-level domain (RFC 2606). Only the column layout
// follows the press descriptions of the leaked files; no value is read from, derived from or imitates a
// real record.
//
// Files (UTF-8 CSV as encoding/csv writes it: comma-separated, RFC 4180 quoting, LF line ends, header
// row first):
//
//	ADHERENTS.csv  affiliation,raison_sociale,activite,adresse,ville,date_adhesion,date_affiliation,ice,rc,
//	               tp,if,forme_juridique,agence,etat_compte,representant_nom,representant_prenom,
//	               representant_cin,email,telephone,mode_telepaiement,rib,code_banque,date_creation_compte,
//	               mandataire
//	SALARIES.csv   immatriculation,cin,passeport,nom,prenom,date_affiliation,employeur,
//	               affiliation_employeur,etat_demande
//
// Determinism: every random choice is drawn from one PCG stream seeded by Config.Seed, consumed in a fixed
// order (employers in index order, then their employees employer by employer). There is no map
// iteration, no clock and no concurrency, so the same Config always yields byte-identical files.
//
// Uniqueness without memory: every identifier that must be unique (affiliation, immatriculation, CIN,
// passport, ICE company number, RIB account, e-mail number) is p(i) = (a·w(i) + b) mod n + offset of the
// record's index i, where gcd(a, n) = 1 makes the affine step a bijection of [0, n) and w, a keyed mix
// of the index's bits restricted to [0, n) by cycle walking, is one too. Distinct indexes therefore give
// distinct values, neighbours are not a constant apart, and no set of issued numbers is kept.
// Representatives take CIN indexes 0..Employers-1 and employees Employers.., so a CIN is unique across
// both files. Config sizes beyond an identifier's space are refused.
//
// Sizes: each employer draws a Pareto weight (α = 1.1); employees are dealt out in proportion to the
// weights by cumulative rounding, which keeps the total exact without sorting. Most employers have 1–5
// employees, a few have thousands, and dormant ones (struck off, or 5% of the others) have none. Memory
// grows with the number of employers only: employee rows are written as they are made.
package synth

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"time"

	"amane/ids"
)

// Config says how big a registry to generate.
type Config struct {
	Employers int
	Employees int
	Seed      uint64
}

// Bank is a Moroccan bank with its 3-digit RIB code.
type Bank struct{ Code, Name string }

// Agency is a CNSS-like agency: a code of upper-case words joined by dashes, a display name, its city.
type Agency struct{ Code, Name, City string }

// Banks lists the bank codes used in synthetic RIBs. Write uses its own copy; changing this slice does
// not change the output.
var Banks = func() []Bank {
	out := make([]Bank, len(banks))
	for i, b := range banks {
		out[i] = Bank{Code: b.code, Name: b.name}
	}
	return out
}()

// Agencies lists the agencies employers are attached to. Write uses its own copy; changing this slice
// does not change the output.
var Agencies = func() []Agency {
	out := make([]Agency, len(agencies))
	for i, a := range agencies {
		out[i] = Agency{Code: a.code, Name: a.name, City: cities[a.city].name}
	}
	return out
}()

var adherentsHeader = []string{"affiliation", "raison_sociale", "activite", "adresse", "ville",
	"date_adhesion", "date_affiliation", "ice", "rc", "tp", "if", "forme_juridique", "agence",
	"etat_compte", "representant_nom", "representant_prenom", "representant_cin", "email", "telephone",
	"mode_telepaiement", "rib", "code_banque", "date_creation_compte", "mandataire"}

var salariesHeader = []string{"immatriculation", "cin", "passeport", "nom", "prenom", "date_affiliation",
	"employeur", "affiliation_employeur", "etat_demande"}

// Identifier spaces. Each bounds how many records a Config may ask for.
const (
	affiliationBase  = 1_000_000 // 7 digits: 1000000..9999999
	affiliationSpace = 9_000_000
	immBase          = 100_000_000 // 9 digits, no leading 0, 999999999 left out (reserved)
	immSpace         = 899_999_999
	cinDigits        = 1_000_000 // CIN = prefix + 6 digits: 7 or 8 characters
	iceBase          = 1_000_000 // 9-digit company number 001000000..099999999, like real ones
	iceSpace         = 99_000_000
	ribAccountSpace  = 10_000_000_000_000_000 // 16 digits
	passportDigits   = 10_000_000             // 2 letters + 7 digits: 9 characters
	passportSpace    = 26 * 26 * passportDigits
	bufSize          = 1 << 20
	checkEvery       = 1 << 12 // rows between ctx checks: cheap, yet a cancel lands within milliseconds
	progressEvery    = 1 << 15
	paretoAlpha      = 1.1 // heavy enough for employers of thousands, light enough for a median of ~2
)

// The calendar the files cover: the leak's extraction ended in late 2024.
var (
	firstDay = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	lastDay  = time.Date(2024, 10, 31, 0, 0, 0, 0, time.UTC)
)

// Write writes ADHERENTS.csv content to adherents and SALARIES.csv content to salaries.
// progress, if not nil, is called from time to time with (rows written so far, total rows =
// Employers+Employees), and once at the end with done == total.
func Write(ctx context.Context, cfg Config, adherents, salaries io.Writer, progress func(done, total int)) error {
	if err := cfg.check(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	g := newGenerator(cfg)
	total := cfg.Employers + cfg.Employees
	done := 0
	step := func() error {
		done++
		if done%checkEvery == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if progress != nil && done%progressEvery == 0 {
			progress(done, total)
		}
		return nil
	}

	// Employers first: their rows are written at once, and only what employees need is kept.
	ab := bufio.NewWriterSize(adherents, bufSize)
	aw := csv.NewWriter(ab) // reuses ab as is: it is a *bufio.Writer at least as large as csv's default
	if err := aw.Write(adherentsHeader); err != nil {
		return fmt.Errorf("synth: ADHERENTS.csv: %w", err)
	}
	emp := make([]employer, cfg.Employers)
	rec := make([]string, len(adherentsHeader))
	for i := range emp {
		g.employer(i, &emp[i], rec)
		if err := aw.Write(rec); err != nil {
			return fmt.Errorf("synth: ADHERENTS.csv: %w", err)
		}
		if err := step(); err != nil {
			return err
		}
	}
	aw.Flush()
	if err := aw.Error(); err != nil {
		return fmt.Errorf("synth: ADHERENTS.csv: %w", err)
	}

	sizes(emp, cfg.Employees)

	sb := bufio.NewWriterSize(salaries, bufSize)
	sw := csv.NewWriter(sb)
	if err := sw.Write(salariesHeader); err != nil {
		return fmt.Errorf("synth: SALARIES.csv: %w", err)
	}
	rec = rec[:len(salariesHeader)]
	j := 0
	for i := range emp {
		n := int(emp[i].size)
		if n == 0 {
			continue
		}
		name := string(g.names[emp[i].nameOff:emp[i].nameEnd])
		aff := g.affiliation(i)
		for k := 0; k < n; k++ {
			g.employee(j, &emp[i], name, aff, rec)
			if err := sw.Write(rec); err != nil {
				return fmt.Errorf("synth: SALARIES.csv: %w", err)
			}
			j++
			if err := step(); err != nil {
				return err
			}
		}
	}
	sw.Flush()
	if err := sw.Error(); err != nil {
		return fmt.Errorf("synth: SALARIES.csv: %w", err)
	}
	if progress != nil {
		progress(done, total)
	}
	return nil
}

func (c Config) check() error {
	switch {
	case c.Employers < 0 || c.Employees < 0:
		return errors.New("synth: Employers and Employees must not be negative")
	case c.Employees > 0 && c.Employers == 0:
		return errors.New("synth: employees need at least one employer")
	case c.Employers > affiliationSpace:
		return fmt.Errorf("synth: at most %d employers (7-digit affiliation numbers)", affiliationSpace)
	case uint64(c.Employers)+uint64(c.Employees) > uint64(len(cinPrefixes))*cinDigits:
		return fmt.Errorf("synth: at most %d people (unique CINs)", len(cinPrefixes)*cinDigits)
	}
	return nil
}

// employer is what the employee pass needs to remember: kept small, with the company name in one shared
// byte arena, so that 500,000 employers cost a few tens of megabytes and give the GC no pointers to scan.
type employer struct {
	nameOff, nameEnd uint32
	affDay           int32   // date_affiliation, in days since firstDay
	size             int32   // employees, set by sizes
	weight           float64 // Pareto weight; 0 for a dormant employer
}

// perm is a bijection of [0, n), shifted by off: x ↦ (a·w(x) + b) mod n + off. The affine step alone
// would map neighbouring indexes to values a constant apart, a pattern a reader of the files would spot;
// w first scatters the index with an invertible mix over the k-bit words (xor, odd multiplications and
// xor-shifts, each a bijection of [0, 2^k)), walking the cycle until it lands below n. Walking a
// permutation's cycle from a point below n stays a bijection of [0, n), and takes under two steps on
// average since 2^k < 2n.
type perm struct {
	n, a, b, off      uint64
	mask, key, m1, m2 uint64
	shift             uint
}

func newPerm(r *rand.Rand, n, off uint64) perm {
	// Any a coprime with n gives a bijection; starting from the middle third keeps neighbours apart.
	a := n/3 + r.Uint64N(n/3+1)
	for gcd(a, n) != 1 {
		a++
	}
	k := uint(bits.Len64(n - 1))
	return perm{
		n: n, a: a, b: r.Uint64N(n), off: off,
		mask: 1<<k - 1, key: r.Uint64(), m1: r.Uint64() | 1, m2: r.Uint64() | 1, shift: k/2 + 1,
	}
}

func (p perm) mix(x uint64) uint64 {
	x = (x ^ p.key) & p.mask
	x = x * p.m1 & p.mask // odd multipliers are invertible modulo 2^k
	x ^= x >> p.shift
	x = x * p.m2 & p.mask
	x ^= x >> p.shift
	return x
}

func (p perm) at(i uint64) uint64 {
	w := p.mix(i)
	for w >= p.n {
		w = p.mix(w)
	}
	hi, lo := bits.Mul64(p.a, w) // a, w < n, so hi < n and Div64 cannot panic
	_, rem := bits.Div64(hi, lo, p.n)
	return (rem+p.b)%p.n + p.off
}

func gcd(a, b uint64) uint64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// weighted picks an index with probability proportional to its weight.
type weighted []int // cumulative weights

func newWeighted(w ...int) weighted {
	c := make(weighted, len(w))
	s := 0
	for i, x := range w {
		s += x
		c[i] = s
	}
	return c
}

func (c weighted) pick(r *rand.Rand) int {
	x := r.IntN(c[len(c)-1])
	return sort.Search(len(c), func(i int) bool { return c[i] > x })
}

type generator struct {
	r                                   *rand.Rand
	employers                           uint64
	minU                                float64 // floor of the Pareto draw
	aff, imm, cin, ice, rib, mail, pass perm
	dates                               []string // YYYY-MM-DD by day index: formatting once, not per row
	names                               []byte   // arena of company names
	maleMail, femaleMail, surnameMail   []string // names folded for e-mail local parts
	scratch                             []byte
	agency, bank, form, activity        weighted
	shopActivity                        []int // index in activities of each shop's trade
}

func newGenerator(cfg Config) *generator {
	// The second PCG word is a fixed tag ("amane" in ASCII), so that only Seed varies the stream.
	r := rand.New(rand.NewPCG(cfg.Seed, 0x616d616e65))
	g := &generator{r: r, employers: uint64(cfg.Employers), minU: min(1, 2/float64(max(1, cfg.Employers)))}
	g.aff = newPerm(r, affiliationSpace, affiliationBase)
	g.imm = newPerm(r, immSpace, immBase)
	g.cin = newPerm(r, uint64(len(cinPrefixes))*cinDigits, 0)
	g.ice = newPerm(r, iceSpace, iceBase)
	g.rib = newPerm(r, ribAccountSpace, 0)
	g.pass = newPerm(r, passportSpace, 0)
	// E-mail numbers from a power of ten at least twice the employer count keep them short yet distinct.
	ms := uint64(1000)
	for ms < 2*uint64(cfg.Employers) {
		ms *= 10
	}
	g.mail = newPerm(r, ms, 1)

	days := int(lastDay.Sub(firstDay).Hours()/24) + 1
	g.dates = make([]string, days)
	for d := range g.dates {
		g.dates[d] = firstDay.AddDate(0, 0, d).Format(time.DateOnly)
	}
	g.maleMail, g.femaleMail, g.surnameMail = foldAll(maleNames), foldAll(femaleNames), foldAll(surnames)
	g.names = make([]byte, 0, cfg.Employers*24)
	aw := make([]int, len(agencies))
	for i, a := range agencies {
		aw[i] = a.weight
	}
	g.agency = newWeighted(aw...)
	bw := make([]int, len(banks))
	for i, b := range banks {
		bw[i] = b.weight
	}
	g.bank = newWeighted(bw...)
	fw := make([]int, len(forms))
	for i, f := range forms {
		fw[i] = f.weight
	}
	g.form = newWeighted(fw...)
	acw := make([]int, len(activities))
	for i, a := range activities {
		acw[i] = a.weight
	}
	g.activity = newWeighted(acw...)
	g.shopActivity = make([]int, len(shops))
	for i, sh := range shops {
		g.shopActivity[i] = slices.IndexFunc(activities, func(a activity) bool { return a.name == sh.activity })
	}
	return g
}

func (g *generator) affiliation(i int) string { return strconv.FormatUint(g.aff.at(uint64(i)), 10) }

// digits returns v as exactly w decimal digits, leading zeros kept.
func (g *generator) digits(v uint64, w int) string {
	b := g.scratch[:0]
	b = appendDigits(b, v, w)
	g.scratch = b
	return string(b)
}

func appendDigits(b []byte, v uint64, w int) []byte {
	n := len(b)
	for range w {
		b = append(b, '0')
	}
	for i := len(b) - 1; i >= n; i-- {
		b[i] = byte('0' + v%10)
		v /= 10
	}
	return b
}

// cinAt returns the CIN of person k (representatives first, then employees).
func (g *generator) cinAt(k uint64) string {
	v := g.cin.at(k)
	b := append(g.scratch[:0], cinPrefixes[v/cinDigits]...)
	b = appendDigits(b, v%cinDigits, 6)
	g.scratch = b
	return string(b)
}

// recentDay returns a day in [from, last], denser towards the end: most firms and jobs are recent.
func (g *generator) recentDay(from int) int {
	last := len(g.dates) - 1
	u := g.r.Float64()
	return last - int(float64(last-from+1)*u*u)
}

func (g *generator) employer(i int, e *employer, rec []string) {
	r := g.r
	ag := &agencies[g.agency.pick(r)]
	city := &cities[ag.city]
	form := &forms[g.form.pick(r)]
	act := &activities[g.activity.pick(r)]
	shop := -1
	if form.name == "Personne physique" { // a sole trader's shop sign says the trade
		shop = r.IntN(len(shops))
		act = &activities[g.shopActivity[shop]]
	}

	off := len(g.names)
	g.names = g.companyName(g.names, act, form, shop)
	e.nameOff, e.nameEnd = uint32(off), uint32(len(g.names))

	adh := g.recentDay(0)
	aff := adh + r.IntN(min(120, len(g.dates)-adh)) // affiliation follows adhesion within four months
	e.affDay = int32(aff)
	opened := max(0, adh-r.IntN(5*365)) // the bank account predates the adhesion

	ice := g.digits(g.ice.at(uint64(i)), 9) + establishments[r.IntN(len(establishments))]
	ice += ids.Key97(ice)

	bank := &banks[g.bank.pick(r)]
	rib := bank.code + city.locality + g.digits(g.rib.at(uint64(i)), 16)
	rib += ids.Key97(rib)

	state := "actif"
	switch x := r.IntN(100); {
	case x >= 96:
		state = "radie"
	case x >= 90:
		state = "suspendu"
	}
	// Struck-off employers and a few others declare no one; the rest share the employees by weight.
	if state != "radie" && r.IntN(100) >= 5 {
		// u in (0, 1]; its floor caps a weight at (n/2)^(1/α), so that the largest employer of a 2M run
		// holds tens of thousands, not half the country.
		u := max(1-r.Float64(), g.minU)
		e.weight = math.Pow(u, -1/paretoAlpha)
	}

	var first, firstMail string
	if r.IntN(2) == 0 {
		k := r.IntN(len(maleNames))
		first, firstMail = maleNames[k], g.maleMail[k]
	} else {
		k := r.IntN(len(femaleNames))
		first, firstMail = femaleNames[k], g.femaleMail[k]
	}
	sk := r.IntN(len(surnames))

	b := append(g.scratch[:0], firstMail...)
	b = append(b, '.')
	b = append(b, g.surnameMail[sk]...)
	b = strconv.AppendUint(b, g.mail.at(uint64(i)), 10)
	b = append(b, '@')
	b = append(b, mailDomains[r.IntN(len(mailDomains))]...)
	g.scratch = b
	email := string(b)

	phone := "06"
	if r.IntN(3) == 0 {
		phone = "07"
	}
	phone += g.digits(r.Uint64N(100_000_000), 8)

	mandataire := ""
	if r.IntN(5) == 0 {
		mandataire = firmPrefixes[r.IntN(len(firmPrefixes))] + " " + firmNames[r.IntN(len(firmNames))] +
			firmSuffixes[r.IntN(len(firmSuffixes))]
	}

	rec[0] = g.affiliation(i)
	rec[1] = string(g.names[off:])
	rec[2] = act.name
	rec[3] = g.address(city)
	rec[4] = city.name
	rec[5] = g.dates[adh]
	rec[6] = g.dates[aff]
	rec[7] = ice
	rec[8] = strconv.Itoa(1 + r.IntN(999_999))
	rec[9] = strconv.Itoa(10_000_000 + r.IntN(90_000_000))
	rec[10] = strconv.Itoa(10_000_000 + r.IntN(90_000_000))
	rec[11] = form.name
	rec[12] = ag.code
	rec[13] = state
	rec[14] = surnames[sk]
	rec[15] = first
	rec[16] = g.cinAt(uint64(i))
	rec[17] = email
	rec[18] = phone
	rec[19] = payModes[g.payMode()]
	rec[20] = rib
	rec[21] = bank.code
	rec[22] = g.dates[opened]
	rec[23] = mandataire
}

func (g *generator) payMode() int {
	switch x := g.r.IntN(100); {
	case x < 40:
		return 0 // virement
	case x < 75:
		return 1 // prelevement
	case x < 85:
		return 2 // gab
	default:
		return 3 // carte
	}
}

var payModes = []string{"virement", "prelevement", "gab", "carte"}

// companyName appends an invented trade name whose pattern depends on the legal form.
func (g *generator) companyName(b []byte, act *activity, form *legalForm, shop int) []byte {
	r := g.r
	root := companyRoots[r.IntN(len(companyRoots))]
	word := act.words[r.IntN(len(act.words))]
	switch form.name {
	case "Personne physique":
		return append(append(append(b, shops[shop].word...), ' '), root...)
	case "Coopérative":
		b = append(b, "COOPERATIVE "...)
		b = append(b, coopKinds[r.IntN(len(coopKinds))]...)
		return append(append(b, ' '), root...)
	case "Association":
		b = append(append(append(b, "ASSOCIATION "...), root...), ' ')
		return append(b, assocAims[r.IntN(len(assocAims))]...)
	}
	switch r.IntN(4) {
	case 0: // "SOUSS AGRO SERVICES"
		b = append(append(append(append(b, root...), ' '), word...), ' ')
		b = append(b, companyTails[r.IntN(len(companyTails))]...)
	case 1: // "DAR ZELLIJ DECOR", "DAR ATLAS TRANSPORT"
		if act.craft {
			root = crafts[r.IntN(len(crafts))]
		}
		b = append(append(append(append(b, "DAR "...), root...), ' '), word...)
	default: // "ATLAS NEGOCE"
		b = append(append(append(b, root...), ' '), word...)
	}
	if r.IntN(5) < 3 {
		b = append(append(b, ' '), form.suffix...)
	}
	return b
}

func (g *generator) address(c *city) string {
	r := g.r
	b := g.scratch[:0]
	switch r.IntN(5) {
	case 0:
		b = append(b, "Lot "...)
		b = strconv.AppendInt(b, int64(1+r.IntN(400)), 10)
		b = append(b, ", Zone industrielle "...)
		b = append(b, c.zones[r.IntN(len(c.zones))]...)
	case 1:
		b = append(b, "Rue "...)
		b = strconv.AppendInt(b, int64(1+r.IntN(90)), 10)
		b = append(b, ", Quartier "...)
		b = append(b, c.districts[r.IntN(len(c.districts))]...)
	case 2:
		b = append(b, "Immeuble "...)
		b = strconv.AppendInt(b, int64(1+r.IntN(120)), 10)
		b = append(b, ", "...)
		b = append(b, streets[r.IntN(len(streets))]...)
	case 3:
		b = strconv.AppendInt(b, int64(1+r.IntN(300)), 10)
		b = append(b, ", "...)
		b = append(b, streets[r.IntN(len(streets))]...)
		b = append(b, ", "...)
		b = append(b, c.districts[r.IntN(len(c.districts))]...)
	default:
		b = append(b, "Magasin "...)
		b = strconv.AppendInt(b, int64(1+r.IntN(40)), 10)
		b = append(b, ", Résidence "...)
		b = append(b, residences[r.IntN(len(residences))]...)
		b = append(b, ", "...)
		b = append(b, c.districts[r.IntN(len(c.districts))]...)
	}
	g.scratch = b
	return string(b)
}

// sizes deals the employees out to the employers in proportion to their weights. Every active employer
// gets one first when there are enough employees to go round, so that few active employers are empty.
func sizes(emp []employer, employees int) {
	active := 0
	for i := range emp {
		if emp[i].weight > 0 {
			active++
		}
	}
	if active == 0 && employees > 0 {
		for i := range emp { // every employer dormant: wake them all rather than lose the employees
			emp[i].weight = 1
		}
		active = len(emp)
	}
	base := 0
	if employees >= active {
		base = 1
	}
	rest := employees - base*active
	var sum float64
	for i := range emp {
		sum += emp[i].weight
	}
	// Cumulative rounding: employer i gets floor(rest·S_i/W) − floor(rest·S_{i−1}/W), so the shares add
	// up to rest exactly and each is its exact share rounded down or up.
	var cum float64
	prev, seen := 0, 0
	for i := range emp {
		e := &emp[i]
		if e.weight == 0 {
			e.size = 0
			continue
		}
		seen++
		cum += e.weight
		t := min(rest, int(float64(rest)*cum/sum))
		if seen == active {
			t = rest
		}
		e.size = int32(base + t - prev)
		prev = t
	}
}

func (g *generator) employee(j int, e *employer, name, aff string, rec []string) {
	r := g.r
	cin, pass := g.cinAt(g.employers+uint64(j)), "" // CIN indexes after the representatives'

	if r.IntN(100) < 3 { // foreign employees identify by passport
		v := g.pass.at(uint64(j))
		l := v / passportDigits
		b := append(g.scratch[:0], byte('A'+l/26), byte('A'+l%26))
		b = appendDigits(b, v%passportDigits, 7)
		g.scratch = b
		cin, pass = "", string(b)
	}
	var first string
	if r.IntN(100) < 65 { // the declared workforce is about two-thirds men
		first = maleNames[r.IntN(len(maleNames))]
	} else {
		first = femaleNames[r.IntN(len(femaleNames))]
	}
	state := "validee"
	switch x := r.IntN(100); {
	case x >= 98:
		state = "rejetee"
	case x >= 93:
		state = "en_attente"
	}
	rec[0] = strconv.FormatUint(g.imm.at(uint64(j)), 10)
	rec[1] = cin
	rec[2] = pass
	rec[3] = surnames[r.IntN(len(surnames))]
	rec[4] = first
	rec[5] = g.dates[g.recentDay(int(e.affDay))]
	rec[6] = name
	rec[7] = aff
	rec[8] = state
}

// The word lists below are invented or common vocabulary. Company, place and firm words are chosen so
// that none contains a word of the person-name lists: a scan of a store for person names must not be
// fooled by a company called after a street or a city.

type city struct {
	name      string
	locality  string   // RIB locality code (invented)
	districts []string // for "Rue 12, Quartier …"
	zones     []string // for "Lot 45, Zone industrielle …"
}

const (
	casablanca = iota
	rabat
	sale
	fes
	marrakech
	tanger
	agadir
	meknes
	oujda
	kenitra
	tetouan
	laayoune
	nador
	beniMellal
	safi
	settat
)

var cities = []city{
	casablanca: {"Casablanca", "780", []string{"Maârif", "Anfa", "Sidi Bernoussi", "Aïn Sebaâ", "Derb Sultan", "Aïn Chock", "Bourgogne", "Oulfa", "Belvédère", "Californie", "Racine", "Gauthier"}, []string{"Sidi Bernoussi", "Aïn Sebaâ", "Lissasfa", "Bouskoura"}},
	rabat:      {"Rabat", "810", []string{"Agdal", "Océan", "Diour Jamaa", "Takaddoum", "Orangers"}, []string{"Takaddoum", "Vita"}},
	sale:       {"Salé", "815", []string{"Tabriquet", "Bettana", "Layayda", "Sala Al Jadida"}, []string{"Technopolis", "Layayda"}},
	fes:        {"Fès", "270", []string{"Saïss", "Zouagha", "Atlas", "Aïn Chkef", "Montfleuri"}, []string{"Doukkarat", "Aïn Chkef"}},
	marrakech:  {"Marrakech", "450", []string{"Guéliz", "Hivernage", "Targa", "Massira", "Azli", "Mellah"}, []string{"Sidi Ghanem"}},
	tanger:     {"Tanger", "640", []string{"Médina", "Malabata", "Boukhalef", "Mesnana", "Branes"}, []string{"Gzenaya", "Mghogha"}},
	agadir:     {"Agadir", "010", []string{"Talborjt", "Founty", "Tassila", "Dakhla", "Anza"}, []string{"Tassila", "Anza"}},
	meknes:     {"Meknès", "330", []string{"Hamria", "Bassatine", "Marjane", "Plaisance"}, []string{"Mejjat"}},
	oujda:      {"Oujda", "600", []string{"Lazaret", "Al Qods", "Isly", "Andalous"}, []string{"Technopole"}},
	kenitra:    {"Kénitra", "370", []string{"Maamora", "Bir Rami", "Ouled Oujih", "Saknia"}, []string{"Atlantic Free Zone", "Bir Rami"}},
	tetouan:    {"Tétouan", "620", []string{"Mhannech", "Wilaya", "Touabel", "Korat Sbaa"}, []string{"Martil"}},
	laayoune:   {"Laâyoune", "700", []string{"Al Wahda", "Colominas", "Al Massira"}, []string{"Marsa"}},
	nador:      {"Nador", "520", []string{"Al Matar", "Lâari Cheikh", "Centre"}, []string{"Selouane"}},
	beniMellal: {"Béni Mellal", "140", []string{"Centre", "Ouled Ayad", "Aïn Asserdoun"}, []string{"Ouled Ayad"}},
	safi:       {"Safi", "590", []string{"Biada", "Plateau", "Jrifat"}, []string{"Jorf"}},
	settat:     {"Settat", "580", []string{"Centre", "Smaala", "Mimosas"}, []string{"Settat"}},
}

type agencySpec struct {
	code, name string
	city       int
	weight     int // per mille of employers; Casablanca holds about four in ten
}

var agencies = []agencySpec{
	{"CASA-ANFA", "Casablanca Anfa", casablanca, 90},
	{"CASA-MAARIF", "Casablanca Maârif", casablanca, 80},
	{"CASA-SIDI-BERNOUSSI", "Casablanca Sidi Bernoussi", casablanca, 70},
	{"CASA-AIN-SEBAA", "Casablanca Aïn Sebaâ", casablanca, 60},
	{"CASA-DERB-SULTAN", "Casablanca Derb Sultan", casablanca, 50},
	{"CASA-AIN-CHOCK", "Casablanca Aïn Chock", casablanca, 50},
	{"RABAT-AGDAL", "Rabat Agdal", rabat, 50},
	{"RABAT-OCEAN", "Rabat Océan", rabat, 30},
	{"SALE-TABRIQUET", "Salé Tabriquet", sale, 30},
	{"FES-SAISS", "Fès Saïss", fes, 35},
	{"FES-MEDINA", "Fès Médina", fes, 20},
	{"MARRAKECH-GUELIZ", "Marrakech Guéliz", marrakech, 40},
	{"MARRAKECH-MENARA", "Marrakech Ménara", marrakech, 25},
	{"TANGER-MEDINA", "Tanger Médina", tanger, 35},
	{"TANGER-BOUKHALEF", "Tanger Boukhalef", tanger, 30},
	{"AGADIR", "Agadir", agadir, 40},
	{"MEKNES", "Meknès", meknes, 30},
	{"OUJDA", "Oujda", oujda, 25},
	{"KENITRA", "Kénitra", kenitra, 25},
	{"TETOUAN", "Tétouan", tetouan, 20},
	{"LAAYOUNE", "Laâyoune", laayoune, 10},
	{"NADOR", "Nador", nador, 15},
	{"BENI-MELLAL", "Béni Mellal", beniMellal, 15},
	{"SAFI", "Safi", safi, 15},
	{"SETTAT", "Settat", settat, 15},
}

type bankSpec struct {
	code, name string
	weight     int // rough market shares
}

var banks = []bankSpec{
	{"007", "Attijariwafa bank", 26},
	{"011", "Bank of Africa", 14},
	{"013", "BMCI", 6},
	{"021", "Crédit du Maroc", 5},
	{"022", "Société Générale Maroc", 7},
	{"145", "Banque Populaire", 12},
	{"190", "Banque Populaire", 12},
	{"225", "Crédit Agricole du Maroc", 6},
	{"230", "CIH Bank", 7},
	{"350", "Al Barid Bank", 5},
}

type legalForm struct {
	name, suffix string // suffix is appended to some company names
	weight       int
}

var forms = []legalForm{
	{"SARL", "SARL", 45},
	{"SARL AU", "SARL AU", 28},
	{"SA", "SA", 6},
	{"SNC", "SNC", 2},
	{"SCS", "SCS", 1},
	{"Personne physique", "", 12},
	{"Coopérative", "", 4},
	{"Association", "", 2},
}

type activity struct {
	name   string
	words  []string // trade words for company names in this line of business
	weight int
	craft  bool // names may take a craft word: "DAR ZELLIJ DECOR"
}

var activities = []activity{
	{"Commerce de gros", []string{"NEGOCE", "DISTRIBUTION", "TRADING", "COMMERCE"}, 14, false},
	{"Commerce de détail", []string{"BAZAR", "MARKET", "COMMERCE", "SHOP"}, 10, false},
	{"Bâtiment et travaux publics", []string{"CONSTRUCTION", "TRAVAUX", "BTP", "GENIE CIVIL"}, 12, true},
	{"Textile et habillement", []string{"TEXTILE", "CONFECTION", "TEX", "MODE"}, 7, false},
	{"Transport routier de marchandises", []string{"TRANSPORT", "LOGISTIQUE", "TRANS", "FRET"}, 7, false},
	{"Centre d'appels", []string{"CALL CENTER", "CONTACT", "RELATION CLIENT"}, 2, false},
	{"Restauration", []string{"RESTAURATION", "TRAITEUR", "GRILL", "FOOD"}, 6, false},
	{"Industrie agroalimentaire", []string{"AGRO", "CONSERVES", "FOOD", "AGROALIMENTAIRE"}, 4, false},
	{"Conseil informatique", []string{"INFORMATIQUE", "DIGITAL", "SOFT", "SYSTEMES"}, 4, false},
	{"Hôtellerie et tourisme", []string{"HOTEL", "VOYAGES", "TOURS", "RESORT"}, 3, false},
	{"Agriculture", []string{"AGRI", "FERME", "PRIMEURS", "AGRICOLE"}, 4, false},
	{"Pêche maritime", []string{"PECHE", "MAREE", "SEAFOOD"}, 1, false},
	{"Gardiennage et sécurité", []string{"SECURITE", "GARDIENNAGE", "PROTECTION"}, 3, false},
	{"Nettoyage industriel", []string{"NETTOYAGE", "PROPRETE", "CLEAN"}, 2, false},
	{"Enseignement privé", []string{"ECOLE", "ACADEMIE", "FORMATION"}, 3, false},
	{"Santé et cliniques", []string{"CLINIQUE", "MEDICAL", "SANTE"}, 2, false},
	{"Promotion immobilière", []string{"IMMO", "IMMOBILIER", "PROMOTION", "HABITAT"}, 3, false},
	{"Import-export", []string{"IMPORT EXPORT", "TRADING", "INTERNATIONAL"}, 3, false},
	{"Menuiserie aluminium et bois", []string{"ALU", "MENUISERIE", "BOIS"}, 2, true},
	{"Artisanat", []string{"ARTISANAT", "DECOR", "ZELLIGE"}, 2, true},
	{"Location de voitures", []string{"CAR", "LOCATION", "AUTO"}, 2, false},
	{"Boulangerie et pâtisserie", []string{"BOULANGERIE", "PATISSERIE", "PAIN"}, 2, false},
	{"Pièces détachées automobiles", []string{"AUTO", "PIECES", "MOTORS"}, 2, false},
	{"Imprimerie et édition", []string{"PRINT", "IMPRIMERIE", "EDITIONS"}, 1, false},
	{"Plasturgie et emballage", []string{"PLAST", "PLASTIQUE", "EMBALLAGE"}, 1, false},
	{"Électricité générale", []string{"ELEC", "ELECTRICITE", "ENERGIE"}, 2, false},
	{"Câblage automobile", []string{"CABLAGE", "WIRING", "AUTOMOTIVE"}, 1, false},
	{"Froid et climatisation", []string{"FROID", "CLIM", "CLIMATISATION"}, 1, false},
	{"Cosmétique et argan", []string{"COSMETIQUE", "ARGAN", "BEAUTE"}, 1, false},
}

// Place and nature words for company names (upper case, unaccented, as registries write them).
var companyRoots = []string{"ATLAS", "SOUSS", "RIF", "SAHARA", "TOUBKAL", "ARGANE", "OASIS", "ANDALOUS",
	"ZIZ", "DRAA", "SEBOU", "MOULOUYA", "TAFILALET", "CHAOUIA", "DOUKKALA", "TADLA", "GHARB", "ORIENTAL",
	"ANFA", "SAISS", "ZITOUNA", "NAKHIL", "BAHIA", "KASBAH", "MAGHREB", "NAJAH", "BARAKA", "TAQADDOUM",
	"HORIZON", "DELTA", "NOVA", "PRESTIGE", "ETOILE", "AZUR", "IMPERIAL", "MEDITERRANEE", "ATLANTIQUE",
	"CEDRE", "PALMERAIE", "ENNASR", "MARINA", "TIFAWIN", "IFRANE", "OUARZAZATE", "ESSAOUIRA", "CHEFCHAOUEN"}

var crafts = []string{"ZELLIJ", "TADELAKT", "NOUAJI", "CUIVRE", "CEDRE", "TAPIS", "POTERIE", "BRODERIE"}

var companyTails = []string{"SERVICES", "GROUPE", "MAROC", "INDUSTRIE", "PLUS", "INVEST", "INTERNATIONAL",
	"NORD", "SUD"}

// Shop signs of sole traders, each with its line of business (an activities name).
var shops = []struct{ word, activity string }{
	{"DROGUERIE", "Commerce de détail"}, {"EPICERIE", "Commerce de détail"},
	{"QUINCAILLERIE", "Commerce de détail"}, {"LIBRAIRIE", "Commerce de détail"},
	{"BOUTIQUE", "Textile et habillement"}, {"CAFE", "Restauration"}, {"SNACK", "Restauration"},
	{"BOULANGERIE", "Boulangerie et pâtisserie"}, {"ATELIER", "Menuiserie aluminium et bois"},
	{"GARAGE", "Pièces détachées automobiles"}, {"PARFUMERIE", "Cosmétique et argan"},
	{"TRANSPORT", "Transport routier de marchandises"}, {"ENTREPRISE", "Bâtiment et travaux publics"},
}

var coopKinds = []string{"AGRICOLE", "ARTISANALE", "LAITIERE", "FEMININE D'ARGANE", "APICOLE"}

var assocAims = []string{"POUR LE DEVELOPPEMENT", "SOLIDARITE", "DES OEUVRES SOCIALES", "CULTURE ET SPORT"}

var establishments = []string{"0000", "0000", "0000", "0000", "0000", "0000", "0000", "0001", "0002", "0003"}

var streets = []string{"Boulevard d'Anfa", "Avenue des FAR", "Boulevard de la Résistance", "Avenue de France",
	"Rue de Fès", "Avenue des Nations Unies", "Boulevard de la Corniche", "Rue du Rif", "Avenue de l'Atlas",
	"Boulevard Al Massira", "Avenue Al Qods", "Rue Oued Ziz", "Avenue Annakhil", "Rue de la Liberté",
	"Avenue des Palmiers", "Boulevard de l'Océan", "Boulevard Ennasr", "Avenue Al Wahda", "Rue Oued Sebou",
	"Avenue des Orangers", "Rue de Marseille", "Boulevard de Paris", "Rue d'Agadir", "Avenue de Tanger"}

var residences = []string{"Les Jardins", "Al Andalous", "Les Orangers", "Les Palmiers", "Nakhil",
	"Al Boustane", "Le Printemps", "Les Oliviers", "Belle Vue"}

var firmPrefixes = []string{"Fiduciaire", "Cabinet", "Bureau comptable", "Société fiduciaire"}

var firmNames = []string{"Atlas", "Souss", "Andalous", "Al Manar", "Oasis", "Horizon", "Tadla", "Rif",
	"Maghreb", "Al Boustane", "Anfa", "Saïss", "Sebou", "Ziz"}

var firmSuffixes = []string{" Conseil", " Expertise", " Audit", " Gestion", " Conseil et Gestion", ""}

var mailDomains = []string{"menara.example", "atlasmail.example", "souss.example", "maghrebnet.example",
	"rifmail.example", "andalous.example", "sahara.example", "oasis.example"}

// CIN prefixes: the letters of issuing regions, as they look on cards; digits follow.
var cinPrefixes = []string{"A", "AB", "AD", "B", "BE", "BH", "BJ", "BK", "C", "CD", "D", "DA", "E", "EE",
	"F", "G", "H", "I", "J", "JA", "K", "L", "M", "X"}

// Common Moroccan surnames. A few carry accents so that accent-forgiving search has something to find.
var surnames = []string{"Alaoui", "Bennani", "El Idrissi", "Tazi", "Berrada", "Chraibi", "Benjelloun",
	"El Amrani", "Ouazzani", "Benaïssa", "Chérif", "El Fassi", "Lahlou", "Sqalli", "Kettani", "Benkirane",
	"Lazrak", "Guessous", "Filali", "Mernissi", "Tahiri", "Naciri", "El Khattabi", "Benmoussa", "Bouzidi",
	"Belkadi", "Hajji", "Ziani", "Mansouri", "Rachidi", "Benchekroun", "Zniber", "Slaoui", "Cherkaoui",
	"Bouabid", "Lamrani", "Jabri", "Daoudi", "Benabdallah", "Alami", "Sebti", "Tounsi", "Hakimi", "Ouahbi",
	"Boukhari", "Moutaouakil", "El Ouafi", "Bennis", "Kabbaj", "Sefrioui", "Benhima", "Mekouar", "Zemmouri",
	"Ghazi", "Rifai", "Essafi", "Haddad", "Karimi", "Bakkali", "Chami", "Messaoudi", "Zaki", "Aït Taleb",
	"Ouali", "Amghar", "Benali", "Bouazza", "Laraki", "Lahrichi", "Tadlaoui", "Benyahia", "Chafik", "Fikri",
	"Hammoudi", "Jaouhari", "Kadiri", "Lamghari", "Mouline", "Naimi", "Ouardighi", "Regragui", "Sahli",
	"Semlali", "Touzani", "Yacoubi", "Zerouali", "Achour", "Belhaj", "Benamar", "Benbrahim", "Bensaïd",
	"Boutaleb", "Dahbi", "El Hachimi", "El Jamali", "Erraji", "Hajjaji", "Jamaï", "Kamili", "Khalfi",
	"Lahbabi", "Mabrouk", "Mahfoudi", "Majdoubi", "Marzouki", "Meziane", "Moussaoui", "Nejjar", "Ouahidi",
	"Rahmouni", "Raïss", "Saadi", "Sabri", "Taibi", "Tijani", "Triki", "Wahbi", "Yamani", "Zahidi", "Zaidi",
	"Abbadi", "Aboudrar", "Aouad", "Azzouzi", "Badaoui", "Belghiti", "Berdai", "Bouhlal", "Boussaid",
	"Chakir", "Ennaji", "Ezzahraoui", "Fadili", "Guerraoui", "Hilali", "Jazouli", "Kasmi", "Loudiyi",
	"Mrabet", "Oudghiri", "Qadiri", "Rhazi", "Sbai", "Tahri", "Benmansour", "El Yousfi", "Ammor",
	"Bennouna", "Chaibi", "Cherradi", "Dkhissi", "Fahmi", "Ghannam", "Hassouni", "Hamdouchi", "Lyoussi"}

var maleNames = []string{"Mohammed", "Ahmed", "Youssef", "Hicham", "Réda", "Saïd", "Karim", "Omar", "Hamza",
	"Mehdi", "Anas", "Amine", "Yassine", "Khalid", "Rachid", "Hassan", "Abdelkader", "Abdellah",
	"Abderrahim", "Mustapha", "Noureddine", "Driss", "Brahim", "Jamal", "Jawad", "Adil", "Nabil", "Samir",
	"Younes", "Ilyas", "Ismaïl", "Soufiane", "Zakaria", "Ayoub", "Badr", "Hamid", "Lahcen", "Larbi",
	"Mounir", "Othmane", "Fouad", "Aziz", "Abdelaziz", "Abdelilah", "Abdelhak", "Abdeslam", "Bouchaib",
	"Mouad", "Marouane", "Taha", "Walid", "Yahya", "Hatim", "Kamal", "Tarik", "Abdelmajid", "Abdelghani",
	"Aymane", "Bilal", "Chakib", "Fayçal", "Hakim", "Idriss", "Jalal", "Lotfi", "Mokhtar", "Najib",
	"Redouane", "Saad", "Sami", "Tawfik", "Wadie", "Yassir", "Zouhair", "Abdelali", "Mahmoud", "Nizar",
	"Oussama", "Salaheddine", "Anouar", "Azzedine", "Mourad"}

var femaleNames = []string{"Fatima-Zahra", "Khadija", "Aïcha", "Zineb", "Imane", "Fatima", "Meryem", "Salma",
	"Sanae", "Hanane", "Nadia", "Latifa", "Samira", "Naima", "Malika", "Rachida", "Souad", "Hafsa", "Ghita",
	"Kenza", "Houda", "Loubna", "Asmae", "Siham", "Widad", "Btissam", "Hajar", "Ikram", "Oumaima",
	"Chaimae", "Soukaina", "Hasna", "Karima", "Najat", "Bouchra", "Rajae", "Nezha", "Saâdia", "Wafae",
	"Yousra", "Amina", "Laila", "Mouna", "Naoual", "Touria", "Fadwa", "Ibtissam", "Jihane", "Lamiae",
	"Manal", "Nisrine", "Sara", "Hiba", "Dounia", "Fatiha", "Habiba", "Khaoula", "Ilham", "Mariam", "Rania",
	"Yasmine", "Safae", "Zohra", "Hayat", "Halima", "Jamila", "Fouzia", "Nawal", "Sabah", "Samia", "Selma",
	"Zahira", "Asmaa"}

// foldAll returns the names as e-mail local parts: lower-case ASCII, accents dropped, no dashes or spaces.
func foldAll(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		b := make([]byte, 0, len(n))
		for _, c := range n {
			switch c {
			case ' ', '-', '\'':
				continue
			case 'à', 'â', 'ä', 'À', 'Â':
				c = 'a'
			case 'é', 'è', 'ê', 'ë', 'É':
				c = 'e'
			case 'î', 'ï', 'Î', 'Ï':
				c = 'i'
			case 'ô', 'ö':
				c = 'o'
			case 'ù', 'û', 'ü':
				c = 'u'
			case 'ç':
				c = 'c'
			}
			if c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c < 0x80 { // a letter missing above is dropped rather than mangled
				b = append(b, byte(c))
			}
		}
		out[i] = string(b)
	}
	return out
}
