"""vipml: find a business's most valuable customers before anyone else does."""

__version__ = "0.1.0"
