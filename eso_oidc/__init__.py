"""eso-oidc: External Secrets Operator on Kubernetes with OpenID Connect trust and no static credentials."""
