package engine

import "github.com/portcullis/portcullis/shared/policy"

// limitsCheck enforces a route's header limits and its declared content-length; the streamed
// body is counted by the host against Decision.MaxBodyBytes.
type limitsCheck struct{ l *policy.Limits }

func (c limitsCheck) onHeaders(f *flow) Code {
	s, l := &f.scan, c.l
	switch {
	case s.count > l.MaxHeaderCount:
		return CodeTooManyHeaders
	case s.bytes > l.MaxHeaderBytes:
		return CodeHeadersTooLarge
	case s.longestValue > l.MaxHeaderValueBytes:
		return CodeHeaderValueTooLarge
	case s.badContentLength:
		return CodeInvalidContentLength
	case s.contentLength > l.MaxBodyBytes:
		return CodeBodyTooLarge
	}
	return ""
}
