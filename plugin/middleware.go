package plugin

import (
	"errors"

	"github.com/labstack/echo/v4"

	"github.com/velocitykode/velocity/middleware"
)

// RequireUser returns Echo middleware for the app's own routes that
// identifies the user exactly as the plugin's endpoints do (JWT from the
// Authorization header, token query parameter or cookie, or the
// WithUserResolver function) and answers 401 with a JSON error without
// one (token_missing, token_invalid, token_expired, or jwt_not_configured
// for a token sent while no JWT key is configured). Handlers read the user
// with middleware.UserFrom(c) or middleware.UserAs[T](c).
func (p *Plugin) RequireUser() echo.MiddlewareFunc { return p.userMiddleware(true) }

// OptionalUser is RequireUser that lets anonymous requests through; a
// credential that is present but invalid, or that no configured JWT key
// can verify, is still refused.
func (p *Plugin) OptionalUser() echo.MiddlewareFunc { return p.userMiddleware(false) }

func (p *Plugin) userMiddleware(required bool) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			id, err := p.identify(c.Request())
			if err == nil && id.User == nil && required {
				err = middleware.ErrTokenMissing
			}
			if err != nil {
				if !errors.Is(err, middleware.ErrTokenMissing) && !errors.Is(err, middleware.ErrTokenExpired) &&
					!errors.Is(err, middleware.ErrTokenInvalid) && !errors.Is(err, middleware.ErrJWTNotConfigured) {
					err = errors.Join(middleware.ErrTokenInvalid, err)
				}
				return middleware.DefaultErrorHandler(c, err)
			}
			if id.User != nil {
				ctx := middleware.WithUser(c.Request().Context(), id.User)
				if !id.Expires.IsZero() {
					ctx = middleware.WithExpiry(ctx, id.Expires)
				}
				c.SetRequest(c.Request().WithContext(ctx))
			}
			return next(c)
		}
	}
}
