"""The recruiter's web pages: routes, templates, charts, forms and readable error pages."""
