//go:build ignore

// Command gen writes the font definitions that attest/render.go embeds: Go Regular and Go Bold
// (golang.org/x/image/font/gofont, BSD licence: LICENSE here), cut to the 218 printable characters of
// Windows-1252 (every French letter, « » – — ’ … €) by fpdf's own subsetter, then described for
// fpdf as simple TrueType fonts with WinAnsiEncoding by fpdf.MakeFont (go-regular.json and the
// compressed font go-regular.z; the same for bold).
//
// Why not fpdf's UTF-8 fonts: fpdf v0.9.0 parses, hashes (as JSON, 65,536 widths) and subsets a UTF-8
// TrueType font again for every document, about 10 ms a font, when a batch has 2 ms a document. A
// simple font is a 1 KB JSON and a ready stream.
//
// Run from the module root: go run attest/fonts/gen.go
package main

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/go-pdf/fpdf"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/text/encoding/charmap"
)

func main() {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/go-pdf/fpdf").Output()
	if err != nil {
		log.Fatal(err)
	}
	cp1252 := filepath.Join(strings.TrimSpace(string(out)), "font_embed", "cp1252.map")
	tmp, err := os.MkdirTemp("", "amane-fonts")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	for name, ttf := range map[string][]byte{"go-regular": goregular.TTF, "go-bold": gobold.TTF} {
		cut, err := subset(ttf)
		if err != nil {
			log.Fatalf("%s: %v", name, err)
		}
		src := filepath.Join(tmp, name+".ttf")
		if err := os.WriteFile(src, cut, 0o644); err != nil {
			log.Fatal(err)
		}
		if err := fpdf.MakeFont(src, cp1252, filepath.Join("attest", "fonts"), os.Stderr, true); err != nil {
			log.Fatalf("%s: %v", name, err)
		}
	}
}

// subset returns ttf cut to the characters of Windows-1252: fpdf subsets a UTF-8 font when it writes
// a document, so write one that shows them all and take the font file back out of it.
func subset(ttf []byte) ([]byte, error) {
	var text []rune
	for c := 0x20; c <= 0xFF; c++ {
		if r := charmap.Windows1252.DecodeByte(byte(c)); r != '\uFFFD' && r != 0x7F {
			text = append(text, r)
		}
	}
	f := fpdf.New("P", "mm", "A4", "")
	f.SetCompression(false)
	f.AddUTF8FontFromBytes("f", "", ttf)
	f.AddPage()
	f.SetFont("f", "", 10)
	f.Cell(10, 10, string(text))
	var pdf bytes.Buffer
	if err := f.Output(&pdf); err != nil {
		return nil, err
	}
	b := pdf.Bytes()
	m := regexp.MustCompile(`<</Length (\d+)\s*/Filter /FlateDecode\s*/Length1 \d+\s*>>\s*stream\r?\n`).FindSubmatchIndex(b)
	if m == nil {
		return nil, fmt.Errorf("no font file in fpdf's output")
	}
	n, _ := strconv.Atoi(string(b[m[2]:m[3]]))
	zr, err := zlib.NewReader(bytes.NewReader(b[m[1] : m[1]+n]))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(zr)
}
