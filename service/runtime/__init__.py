"""The server around the routes: app, middleware, auth, rate limits, metrics, logs, errors."""
