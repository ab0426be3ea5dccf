package httpx

import (
	"net/http"

	"builds/internal/build"
)

// HTTPStatus maps a domain error code to the HTTP status that reports it.
// It is the only place where that mapping is made.
func HTTPStatus(code string) int {
	switch code {
	case "":
		return http.StatusOK
	case build.EINVALID:
		return http.StatusBadRequest
	case build.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case build.EFORBIDDEN:
		return http.StatusForbidden
	case build.ENOTFOUND:
		return http.StatusNotFound
	case build.ECONFLICT:
		return http.StatusConflict
	case build.ELIMIT:
		return http.StatusTooManyRequests
	}
	return http.StatusInternalServerError
}
