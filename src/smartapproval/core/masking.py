"""Mask ID and phone numbers for viewers whose role does not need them."""


def mask_id_number(value: str | None) -> str:
    """Show the first 6 and last 4 characters of an ID number or USCC."""
    if not value:
        return ""
    if len(value) <= 10:
        return value[:2] + "*" * max(len(value) - 4, 0) + value[-2:]
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def mask_phone(value: str | None) -> str:
    """Show the first 3 and last 4 digits of a phone number."""
    if not value:
        return ""
    if len(value) <= 7:
        return "*" * (len(value) - 2) + value[-2:]
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_name(value: str | None) -> str:
    """Keep the family name (first character) of a person's name."""
    if not value:
        return ""
    return value[0] + "*" * (len(value) - 1)
