package amane

import "context"

// MaxPage is the most people one answer releases. A bulk answer — an employer's employees, a period's
// declared lines, a name search — comes in pages of at most MaxPage people; the next page is asked
// for with the cursor the page before gave. Every page passes the gate and the sentinel on its own,
// so that one request never releases hundreds of people before the sentinel has counted them.
const MaxPage = 50

// Page asks for one page of a bulk answer.
type Page struct {
	// Cursor is "" for the first page, else the Next of the page before. It is opaque and holds no
	// identifier in clear (an internal position only).
	Cursor string
	// Limit is the most people wanted: 0, or more than MaxPage, means MaxPage.
	Limit int
}

// Size is the page's number of people: Limit within 1..MaxPage.
func (p Page) Size() int {
	if p.Limit <= 0 || p.Limit > MaxPage {
		return MaxPage
	}
	return p.Limit
}

// DeclarationPage is one page of a period's declarations: each declaration with its header, totals
// and contributions, and only this page's lines (at most MaxPage people in all). Next is the cursor
// of the next page, "" on the last.
type DeclarationPage struct {
	Declarations []Declaration `json:"declarations"`
	Next         string        `json:"next,omitempty"`
}

// EmployeePage is the answer of a name search: at most MaxPage people; More says that more people
// in the principal's scope match (narrow the search).
type EmployeePage struct {
	Employees []Employee `json:"salaries"`
	More      bool       `json:"more,omitempty"`
}

// Pager is the registry's paged reads (package gate implements it): the bulk reads of
// EmployerService, EmployeeService and Declarations, one page at a time. EmployerService.Employer is
// EmployerPage's first page.
type Pager interface {
	// EmployerPage returns the employer with one page of its employees (by internal id), and Next.
	EmployerPage(ctx context.Context, affiliation string, page Page) (*EmployerWithEmployees, error)
	// DeclarationPage returns one page of a period's declared lines. ENOTFOUND if none.
	DeclarationPage(ctx context.Context, affiliation, period string, page Page) (*DeclarationPage, error)
	// SearchEmployeesPage is SearchEmployees saying whether more people match than it shows.
	SearchEmployeesPage(ctx context.Context, query string, limit int) (*EmployeePage, error)
}
