"""PAWS-X in miniature: ``x-final.tar.gz`` with the real member layout (``x-final/{lang}/``
holding ``dev_2k.tsv`` and ``test_2k.tsv``, ``translated_train.tsv`` for the six translated
languages and ``train.tsv`` for English), each file tab separated with the header ``id
sentence1 sentence2 label``. English, German and Chinese hold a few pairs (one German pair with
the publisher's "NS" placeholder, one English line with surrounding white space and a CRLF
ending); the other languages one pair each."""

from __future__ import annotations

from pathlib import Path

from tests.fetch_fixtures.tydiqa import tar_gz

LANGUAGES = ("de", "en", "es", "fr", "ja", "ko", "zh")
HEADER = "id\tsentence1\tsentence2\tlabel\n"

FILES: dict[str, str] = {
    "en/train.tsv": HEADER
    + "1\tIn Paris , in October 1560 , he secretly met the English ambassador .\t"
    "In October 1560 , he secretly met with the English ambassador in Paris .\t1\n"
    "2\tThe NBA season of 1975 -- 76 was the 30th season of the National Basketball "
    "Association .\tThe 1975 -- 76 season of the National Basketball Association was the "
    "30th season of the NBA .\t1\n"
    "3\tThere are also specific discussions , public profile debates and project "
    "discussions .\tThere are also public discussions , profile specific discussions , and "
    "project discussions .\t0\n",
    "en/dev_2k.tsv": HEADER + "1\tIt is the seat of Zerendi District in Akmola Region .\t"
    "It is the seat of the district of Zerendi in Akmola region .\t1\n"
    "2\t  William Henry Henry Harman was born in Waltham , Massachusetts .  \t"
    "William Henry Harman was born in Waltham , Massachusetts .\t1\r\n",
    "en/test_2k.tsv": HEADER
    + "1\tHe was born in Cardiff and died in London .\tHe was born in London and died in "
    "Cardiff .\t0\n",
    "de/dev_2k.tsv": HEADER
    + "684\tDie Stra\u00dfe verl\u00e4uft weiter nach Westen \u00fcber die 5. Stra\u00dfe "
    "nach Delphos.\tNS\t0\n"
    "685\tEs ist der Sitz des Bezirks Zerendi in der Region Akmola.\t"
    "Es ist der Sitz des Distrikts Zerendi in der Region Akmola.\t1\n",
    "de/test_2k.tsv": HEADER + "1\tEr wurde in Cardiff geboren und starb in London.\t"
    "Er wurde in London geboren und starb in Cardiff.\t0\n"
    "2\tDie Saison 1975/76 war die 30. Saison der NBA.\t"
    "Die NBA-Saison 1975/76 war die 30. Saison.\t1\n",
    "de/translated_train.tsv": HEADER + "1\tIn Paris traf er 1560 heimlich den Botschafter.\t"
    "Im Jahr 1560 traf er in Paris heimlich den Botschafter.\t1\n",
    "zh/dev_2k.tsv": HEADER
    + "1\t\u5b83\u662f\u963f\u514b\u83ab\u62c9\u5dde\u6cfd\u4f26\u8fea\u533a\u7684\u9996"
    "\u5e9c\u3002\t\u5b83\u662f\u6cfd\u4f26\u8fea\u533a\u7684\u9996\u5e9c\u3002\t1\n",
    "zh/test_2k.tsv": HEADER
    + "1\t\u4ed6\u751f\u4e8e\u5361\u8fea\u592b\uff0c\u6b7b\u4e8e\u4f26\u6566\u3002\t"
    "\u4ed6\u751f\u4e8e\u4f26\u6566\uff0c\u6b7b\u4e8e\u5361\u8fea\u592b\u3002\t0\n",
}
for _lang in LANGUAGES:
    for _split in ("dev_2k", "test_2k", "translated_train"):
        if _lang != "en":
            FILES.setdefault(f"{_lang}/{_split}.tsv", HEADER + f"9\t{_lang} a\t{_lang} b\t1\n")

COUNTS: dict[str, int] = {
    name: text.count("\n") - 1
    for name, text in FILES.items()
    if not name.endswith("translated_train.tsv")
}


def build(release: Path) -> None:
    release.mkdir(parents=True, exist_ok=True)
    members = {f"x-final/{name}": text.encode("utf-8") for name, text in sorted(FILES.items())}
    folders = ("x-final", *(f"x-final/{lang}" for lang in LANGUAGES))
    tar_gz(release / "x-final.tar.gz", members, folders)
