package web_test

import (
	"reflect"
	"testing"

	"amane/web"
)

// TestServerStoreIsNarrow: the web server holds the store only as the few methods sign-in needs
// (accounts, passkeys, tokens), none of which returns ciphertext or erases; personal data comes to
// a page or a handler only through the gate. Widening the field's type to a wider store (gate.Store has
// EraseEmployee, Dump, EmployeesOf, …) fails this test.
func TestServerStoreIsNarrow(t *testing.T) {
	f, ok := reflect.TypeOf(web.Server{}).FieldByName("Store")
	if !ok {
		t.Fatal("web.Server has no Store field")
	}
	allowed := map[string]bool{"Account": true, "AccountByLogin": true, "AddPasskey": true, "Passkeys": true,
		"UpdatePasskey": true, "TokenByHash": true, "OperatorToken": true}
	for i := range f.Type.NumMethod() {
		if m := f.Type.Method(i); !allowed[m.Name] {
			t.Errorf("web.Server.Store offers %s: the web layer must reach records only through the gate", m.Name)
		}
	}
}
