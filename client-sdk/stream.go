package sdk

import (
	"bufio"
	"errors"
	"fmt"
	"io"

	json "github.com/dengji/dengji/internal/jsonx"
)

// jsonStream reads a JSON document as it arrives, a value at a time: a
// page's object key by key, its array of records element by element, each
// element whole as raw bytes for its own decoder. It checks the structure
// it walks (brackets that balance, strings that end, commas and colons where
// they belong); what a value holds is checked by whoever decodes it.
// encoding/json's Decoder did the same with a full syntax check of every
// byte, and took a quarter of a bootstrap's time on the device.
type jsonStream struct {
	r   *bufio.Reader
	buf []byte // the value being read
}

func newJSONStream(r io.Reader) *jsonStream {
	return &jsonStream{r: bufio.NewReaderSize(r, 32<<10)}
}

// errSyntax is a stream that is not the JSON it should be. It is not
// ErrProtocol: a link that mangles a body (a captive portal, a proxy cut)
// gives the same, and the request is tried again.
var errSyntax = errors.New("malformed JSON")

// peek skips white space and returns the next byte without reading it.
func (s *jsonStream) peek() (byte, error) {
	for {
		c, err := s.r.ReadByte()
		if err != nil {
			return 0, unexpectedEOF(err)
		}
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		}
		return c, s.r.UnreadByte()
	}
}

func (s *jsonStream) expect(want byte) error {
	c, err := s.peek()
	if err != nil {
		return err
	}
	if c != want {
		return fmt.Errorf("%w: want %q, got %q", errSyntax, want, c)
	}
	_, err = s.r.ReadByte()
	return err
}

// object reads an object, calling field with each key before its value,
// which field must read (with value, decode, array or object).
func (s *jsonStream) object(field func(key string) error) error {
	return s.list('{', '}', func() error {
		var key string
		if err := s.decode(&key); err != nil {
			return err
		}
		if err := s.expect(':'); err != nil {
			return err
		}
		return field(key)
	})
}

// array reads an array, calling elem before each element, which elem
// must read.
func (s *jsonStream) array(elem func() error) error { return s.list('[', ']', elem) }

func (s *jsonStream) list(open, close byte, item func() error) error {
	if err := s.expect(open); err != nil {
		return err
	}
	if c, err := s.peek(); err != nil || c == close {
		if err == nil {
			_, err = s.r.ReadByte()
		}
		return err
	}
	for {
		if err := item(); err != nil {
			return err
		}
		c, err := s.peek()
		if err != nil {
			return err
		}
		s.r.ReadByte()
		switch c {
		case ',':
		case close:
			return nil
		default:
			return fmt.Errorf("%w: want ',' or %q, got %q", errSyntax, close, c)
		}
	}
}

// decode reads the next value into v.
func (s *jsonStream) decode(v any) error {
	raw, err := s.value()
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, v)
}

// value reads the next value whole. The bytes are the caller's.
func (s *jsonStream) value() ([]byte, error) {
	first, err := s.peek()
	if err != nil {
		return nil, err
	}
	s.buf = s.buf[:0]
	if first != '"' && first != '{' && first != '[' {
		return s.scalar()
	}
	depth, inString, escaped := 0, false, false
	for {
		// What is buffered, scanned in place; at least a byte, waited for.
		chunk, err := s.r.Peek(max(s.r.Buffered(), 1))
		if len(chunk) == 0 {
			return nil, unexpectedEOF(err)
		}
		for i, c := range chunk {
			switch {
			case inString:
				switch {
				case escaped:
					escaped = false
				case c == '\\':
					escaped = true
				case c == '"':
					inString = false
				case c < 0x20:
					return nil, fmt.Errorf("%w: control character in a string", errSyntax)
				}
			case c == '"':
				inString = true
			case c == '{' || c == '[':
				depth++
			case c == '}' || c == ']':
				depth--
			}
			if depth == 0 && !inString {
				v := append(append([]byte(nil), s.buf...), chunk[:i+1]...)
				_, err := s.r.Discard(i + 1)
				return v, err
			}
		}
		s.buf = append(s.buf, chunk...)
		if _, err := s.r.Discard(len(chunk)); err != nil {
			return nil, err
		}
	}
}

// scalar reads a number or a literal: up to the byte that cannot be part
// of one, which is left for the next token.
func (s *jsonStream) scalar() ([]byte, error) {
	for {
		c, err := s.r.ReadByte()
		if err != nil {
			return nil, unexpectedEOF(err)
		}
		if !scalarByte(c) {
			s.r.UnreadByte()
			if len(s.buf) == 0 {
				return nil, fmt.Errorf("%w: unexpected %q", errSyntax, c)
			}
			return append([]byte(nil), s.buf...), nil
		}
		s.buf = append(s.buf, c)
	}
}

// scalarByte reports whether c can be part of a number or a literal.
func scalarByte(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c == '-' || c == '+' || c == '.' || c >= 'A' && c <= 'Z'
}

func unexpectedEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
