from slugify import slugify as _slugify


def slugify(name: str) -> str:
    """ "São Paulo", "sao  paulo" and "SAO-PAULO" all become "sao-paulo"; "Москва" "moskva".

    python-slugify transliterates (text-unidecode), so non-Latin names get an ASCII slug too.
    """
    return _slugify(name)
