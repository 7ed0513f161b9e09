package damancom_test

import (
	"bytes"
	"errors"
	"fmt"

	"amane/damancom"
)

func Example() {
	// The préétabli the CNSS sent, as read.
	p := &damancom.Preetabli{
		Header: damancom.Header{TransferID: "20240300000042", Cat: damancom.CatPreetabli},
		Employer: damancom.Employer{Affiliation: "9000017", Period: "202403", Name: "SOCIETE EXEMPLE",
			City: "VILLE-TEST", IssueDate: "20240401", DueDate: "20240410"},
		Insured: []damancom.Insured{{Number: "100000037", Surname: "ESSAINOM", FirstName: "PRENOM"}},
	}
	// The employer's answer: what each insured worked and earned.
	d := damancom.PreetabliToDeclaration(p)
	d.Lines[0].Days, d.Lines[0].RealSalary, d.Lines[0].CappedSalary = 26, 750000, 600000
	var b bytes.Buffer
	if err := d.Encode(&b); err != nil {
		panic(err)
	}
	fmt.Println(damancom.DeclarationName(d.Employer.Affiliation, d.Employer.Period))
	fmt.Print(b.String()[2*261 : 2*261+156])
	// Output:
	// DS_9000017_202403.txt
	// B029000017202403100000037ESSAINOM                      PRENOM                        00000000000000000000000000260000000750000000600000  0000000000101350063
}

func ExampleDecodeDeclaration() {
	d := &damancom.Declaration{
		Header: damancom.Header{TransferID: "20240300000042"},
		Employer: damancom.Employer{Affiliation: "9000017", Period: "202403", Name: "SOCIETE EXEMPLE",
			IssueDate: "20240401", DueDate: "20240410"},
		Lines: []damancom.Line{{Insured: damancom.Insured{Number: "100000037", Surname: "ESSAINOM", FirstName: "PRENOM"},
			Days: 26, RealSalary: 750000, CappedSalary: 600000}},
	}
	var b bytes.Buffer
	if err := d.Encode(&b); err != nil {
		panic(err)
	}
	// Line 3, the B02 record, declares 27 days instead of 26; its surname is in lower case.
	file := []byte(b.String())
	copy(file[2*261+111:], "27")
	copy(file[2*261+25:], "Essainom")
	_, err := damancom.DecodeDeclaration(bytes.NewReader(file))
	var rep *damancom.Report
	if errors.As(err, &rep) {
		fmt.Print(rep.Text())
	}
	// Output:
	// line 3: B02 L_Nom_Prenom: expected only A-Z, 0-9, space and . , ' - / & : ( ); found 7 characters outside the allowed set, the first at position 2 (column 27); s: write S
	// line 3: B02 N_Jours_Declares: expected at most 26; found 27; at most 26 days are declared for a month
	// line 3: B02 S_Ctr: expected 101350064; found 101350063; S_Ctr = N_Num_Assure + N_AF_A_Reverser + N_Jours_Declares + N_Salaire_Reel + N_Salaire_Plaf + rank(L_Situation)
	// line 4: B03 N_T_Jours_Declares: expected 27; found 26; N_T_Jours_Declares is the sum of N_Jours_Declares over the B02 records
	// line 4: B03 N_T_Ctr: expected 101350064; found 101350063; N_T_Ctr is the sum of S_Ctr over the B02 records
	// line 6: B06 N_T_Jours_Declares: expected 27; found 26; N_T_Jours_Declares is the sum of its B03 and B05 values (B06 = B03 + B05)
	// line 6: B06 N_T_Ctr: expected 101350064; found 101350063; N_T_Ctr is the sum of its B03 and B05 values (B06 = B03 + B05)
}

func ExampleParseName() {
	for _, name := range []string{"AFFEBDS_9000017_202403.txt", "DSC2_9000017_032024.txt", "DS_9000017.txt"} {
		kind, n, aff, period, err := damancom.ParseName(name)
		fmt.Println(kind, n, aff, period, err != nil)
	}
	// Output:
	// preetabli 0 9000017 202403 false
	// complementary 2 9000017 202403 false
	//  0   true
}
