"""One construct per module. Import the module of the cloud you need: each loads only its provider."""

from eso_oidc.bindings import register_light_packages

register_light_packages()
