package web

import (
	"bytes"
	"encoding/json"
	"io"
	"unicode"
	"unicode/utf8"
)

// Duplicate keys. encoding/json takes the last of two equal keys, and matches a key to a field
// without regard to case, so {"nom":"a","NOM":"b"} decodes as nom "b": what a validating proxy, a
// log or a signature saw ("a") is not what Amane stored. Every body the API decodes is therefore
// scanned first, and a key that appears twice in one object — exactly, or as encoding/json would
// match it (foldKey) — is refused with a 400 naming it.

// duplicateKey returns the first key of b that repeats another key of the same object (as
// encoding/json would match them), and whether there is one. A document that is not valid JSON
// reports none: the decoder that follows says what is wrong with it.
func duplicateKey(b []byte) (string, bool) {
	type frame struct {
		object, wantKey bool
		keys            map[string]struct{}
	}
	var stack []*frame
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	for {
		tok, err := dec.Token()
		if err != nil { // io.EOF, or a syntax error for the decoder to report
			return "", false
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if d, ok := tok.(json.Delim); ok {
			switch d {
			case '{', '[':
				if top != nil && top.object {
					top.wantKey = true // after this value, a key
				}
				stack = append(stack, &frame{object: d == '{', wantKey: d == '{'})
			default:
				stack = stack[:len(stack)-1]
			}
			continue
		}
		if top != nil && top.object && top.wantKey {
			k, _ := tok.(string)
			f := foldKey(k)
			if top.keys == nil {
				top.keys = map[string]struct{}{}
			}
			if _, seen := top.keys[f]; seen {
				return k, true
			}
			top.keys[f] = struct{}{}
			top.wantKey = false
			continue
		}
		if top != nil && top.object {
			top.wantKey = true
		}
	}
}

// foldKey is encoding/json's folding of a key for its case-insensitive match (fold.go,
// appendFoldedName): ASCII letters upper-cased, other runes ToUpper(ToLower(r)), so that "K" (Kelvin)
// and "k", "ſ" and "s" fold alike as they match alike.
func foldKey(k string) string {
	out := make([]byte, 0, len(k))
	for i := 0; i < len(k); {
		if c := k[i]; c < utf8.RuneSelf {
			if 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			}
			out = append(out, c)
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(k[i:])
		out = utf8.AppendRune(out, unicode.ToUpper(unicode.ToLower(r)))
		i += n
	}
	return string(out)
}

// readBody reads a whole JSON body (bounded by ServeHTTP's MaxBytesReader).
func readBody(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, bodyError(err)
	}
	return b, nil
}
