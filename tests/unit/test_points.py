"""The point library: the bundled data, lookups, figures, and user points files with their errors."""

import re
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from places import DATA, PACKAGE

from rlsaudio.base.errors import PointsError
from rlsaudio.script.pointfile import bundled_library, load_library, parse_points

SEEDS = DATA / "seeds"
SHARED_SEEDS = Path("/work/shared/seeds")
SVG = "{http://www.w3.org/2000/svg}"

ORDER = ["B 40", "GV 26", "GB 20", "GB 21", "GV 20", "K 3", "LU 7", "LV 2", "LV 3", "SP 6", "SP 12", "ST 36",
         "heart", "outer-area", "knee-leg", "sciatic", "foot", "ball-of-foot"]
FIGURES = ["knee-back", "face", "head-neck-back", "neck-shoulders", "head-side", "ankle-inner", "forearm-hand",
           "foot-top", "leg-inner", "hip-groin", "knee-front", "soles"]


@pytest.fixture(scope="module")
def lib():
    return load_library()


def test_every_point_of_both_sources_in_order(lib):
    assert [p.code for p in lib.points] == ORDER
    for point in lib.points:
        assert point.spoken and point.region and point.location and point.find and point.figure, point.code
        assert point.source == ("acupressure" if point.kind == "acupressure" else "foot-reflexology")
        assert point.figure in lib.figures
    assert [p.kind for p in lib.points] == ["acupressure"] * 12 + ["reflexology"] * 6
    assert {p.code: p.name for p in lib.points if p.name} == {
        "B 40": "Weizhong", "GV 26": "Renzhong", "GB 20": "Fengchi", "GB 21": "Jianjing", "GV 20": "Baihui",
        "K 3": "Taixi", "LU 7": "Lieque", "LV 2": "Xingjian", "LV 3": "Taichong", "SP 6": "Sanyinjiao",
        "SP 12": "Chongmen", "ST 36": "Zusanli"}


def test_spoken_names(lib):
    assert [lib.spoken(code) for code in ORDER] == [
        "Bladder 40", "Governing Vessel 26", "Gallbladder 20", "Gallbladder 21", "Governing Vessel 20",
        "Kidney 3", "Lung 7", "Liver 2", "Liver 3", "Spleen 6", "Spleen 12", "Stomach 36",
        "the heart reflexology point", "the outer area of the left sole", "the knee and leg reflexology point",
        "the sciatic reflexology point", "the foot reflexology point", "the ball of the foot"]


def test_laterality(lib):
    lateral = {p.code: p.laterality for p in lib.points}
    assert lateral.pop("GV 26") == lateral.pop("GV 20") == "midline"
    assert lateral.pop("heart") == lateral.pop("outer-area") == "left"
    assert lateral.pop("ball-of-foot") == "right"
    assert set(lateral.values()) == {"paired"}
    assert lib.lookup("SP 6").sides == ("right", "left")
    assert lib.lookup("GV 20").sides == () and lib.lookup("heart").sides == ("left",)


def test_gv26_keeps_the_sources_place_and_code_as_an_alias(lib):
    point = lib.lookup("GV 26")
    assert point.aliases == ("CV 26",)
    assert point.location == "in the center of the space between the nose and upper lip"


def test_k3_is_the_inner_ankle(lib):
    point = lib.lookup("K 3")
    assert point.location == "a finger width behind the ankle"
    assert "inner ankle bone" in point.find and "Achilles tendon" in point.find
    assert "not the outer one" in point.find
    assert lib.figures[point.figure].name == "ankle-inner"


@pytest.mark.parametrize("name", ["acupressure.txt", "foot-reflexology.txt"])
def test_seed_copies_are_byte_exact(name):
    shared = {"acupressure.txt": "000_7739bfb205abb437.txt", "foot-reflexology.txt": "003_9c2dc89849bff68f.txt"}
    if not SHARED_SEEDS.is_dir():
        pytest.skip("the shared seed folder is not on this machine")
    assert (SEEDS / name).read_bytes() == (SHARED_SEEDS / shared[name]).read_bytes()


def test_every_location_is_the_sources_own_words(lib):
    texts = {key: " ".join((SEEDS / source.text).read_text(encoding="utf-8").split())
             for key, source in lib.sources.items()}
    for point in lib.points:
        assert " ".join(point.location.split()) in texts[point.source], point.code


# --------------------------------------------------------------------------- lookups


@pytest.mark.parametrize("query, code", [
    ("GV 26", "GV 26"), ("CV 26", "GV 26"), ("cv26", "GV 26"), ("Governing Vessel 26", "GV 26"),
    ("sp6", "SP 6"), ("SP 6", "SP 6"), ("sp-6", "SP 6"), (" Sp  6 ", "SP 6"), ("Spleen 6", "SP 6"),
    ("spleen6", "SP 6"), ("BL 40", "B 40"), ("bl40", "B 40"), ("Bladder 40", "B 40"), ("KI 3", "K 3"),
    ("Kidney 3", "K 3"), ("LR 3", "LV 3"), ("Liver 2", "LV 2"), ("st36", "ST 36"),
    ("HEART", "heart"), ("the heart reflexology point", "heart"), ("heart reflexology point", "heart"),
    ("outer area", "outer-area"), ("ball of foot", "ball-of-foot"), ("the ball of the foot", "ball-of-foot"),
    ("knee-leg", "knee-leg"), ("the sciatic reflexology point", "sciatic"),
    ("Sanyinjiao", "SP 6"), ("sanyinjiao", "SP 6"), ("Weizhong", "B 40"), ("Renzhong", "GV 26"),  # the page's names
])
def test_lookup(lib, query, code):
    assert lib.lookup(query).code == code
    assert query in lib


@pytest.mark.parametrize("query, message", [
    ("hart", 'unknown point "hart"; did you mean "heart"?'),
    ("Spleeen 6", 'unknown point "Spleeen 6"; did you mean "Spleen 6"?'),
    ("Sanyinjao", 'unknown point "Sanyinjao"; did you mean "Sanyinjiao"?'),
    # a suggestion never sends someone to another body site: it says what the library holds
    ("SP 66", 'unknown point "SP 66"; of the Spleen channel the library holds only SP 6 and SP 12 '
               "(see rlsaudio points)"),
    ("SP 10", 'unknown point "SP 10"; of the Spleen channel the library holds only SP 6 and SP 12 '
               "(see rlsaudio points)"),
    ("SP 9", 'unknown point "SP 9"; of the Spleen channel the library holds only SP 6 and SP 12 (see rlsaudio points)'),
    ("BL 60", 'unknown point "BL 60"; of the Bladder channel the library holds only B 40 (see rlsaudio points)'),
    ("GV 2", 'unknown point "GV 2"; of the Governing Vessel channel the library holds only GV 26 and GV 20 '
             "(see rlsaudio points)"),
    ("Stomach 63", 'unknown point "Stomach 63"; of the Stomach channel the library holds only ST 36 '
                   "(see rlsaudio points)"),
    ("xyz", "unknown point \"xyz\"; known points: " + ", ".join(ORDER)),
])
def test_unknown_code(lib, query, message):
    with pytest.raises(PointsError) as info:
        lib.lookup(query)
    assert info.value.lines() == [message]
    assert query not in lib


def test_bundled_library_is_cached():
    assert load_library() is load_library() is bundled_library()


# --------------------------------------------------------------------------- cautions


def test_cautions(lib):
    carried = {p.code: p.cautions for p in lib.points if p.cautions}
    assert carried == {"B 40": ("light",), "GB 21": ("pregnancy",), "K 3": ("ankles",), "LV 2": ("feet",),
                       "LV 3": ("feet",), "SP 6": ("pregnancy",), "SP 12": ("light",), "heart": ("feet",),
                       "outer-area": ("feet",), "knee-leg": ("ankles",), "sciatic": ("ankles",), "foot": ("ankles",),
                       "ball-of-foot": ("feet",)}
    pregnancy = lib.cautions["pregnancy"]
    assert pregnancy.say == "If you are pregnant, skip this point, and rest until the next one."
    assert pregnancy.first == "If you are pregnant, skip this point on both sides, and rest until the next point."
    assert pregnancy.remind == "If you are pregnant, keep resting."
    assert lib.cautions_of("sp6") == (pregnancy,) and lib.cautions_of("GV 20") == ()
    for caution in lib.cautions.values():
        assert caution.say and caution.first and caution.remind and caution.text and caution.safety
        assert "both" in caution.first and len(caution.remind) < len(caution.first)
    assert "pulse" in lib.cautions["light"].say and "varicose" in lib.cautions["light"].say
    assert lib.cautions["light"].longest_press_ms == 60_000  # B 40 and SP 12: a minute at a time, lightly
    for key in ("feet", "ankles"):
        assert "diabetes or less feeling in your feet" in lib.cautions[key].say
        assert "ask your doctor or podiatrist first" in lib.cautions[key].safety
    assert "pregnant" in lib.cautions["ankles"].say and "gently" in lib.cautions["ankles"].say


def test_a_points_file_s_text_is_text_never_narration_markup():
    """Point text is spoken as it is: a pause marker or a placeholder in any field is refused at
    load, with its line, never interpreted (a [3h] pause, a {side} swap, a [big] that broke compose)."""
    for key, value in (("location", "on the sole [big]"), ("find", "x [3h] y"), ("region", "the {side} sole"),
                       ("spoken", "Kidney [2s] 1"), ("name", "Yong}quan"), ("limb", "{side} foot"),
                       ("note", "see [1]"), ("code", "KI[1]")):
        lines = [line for line in USER_POINT.strip().splitlines() if not line.startswith(f"{key} = ")]
        lines.insert(1, f'{key} = "{value}"')  # right after [[points]]
        with pytest.raises(PointsError) as info:
            user("\n".join(lines) + "\n")
        (line,) = info.value.lines()
        assert line.startswith(f"my.toml:2: points[0].{key}: contains ") and "would read as markup" in line, line
    caution = '[cautions.calm]\nsay = "Go [5s] gently."\ntext = "Gently."\nsafety = "Gently."\n'
    with pytest.raises(PointsError) as info:
        user(caution + USER_POINT)
    assert info.value.lines()[0].startswith('my.toml:2: cautions.calm.say: contains "["')


# --------------------------------------------------------------------------- figures


def test_every_figure_is_declared_drawn_and_used(lib):
    assert list(lib.figures) == FIGURES
    assert {p.figure for p in lib.points} == set(FIGURES)
    folder = PACKAGE / "data" / "figures"
    assert sorted(p.stem for p in folder.glob("*.svg")) == sorted(FIGURES)


@pytest.mark.parametrize("name", FIGURES)
def test_figure_file(lib, name):
    figure = lib.figures[name]
    assert len(figure.svg.encode()) < 8192
    root = ET.fromstring(figure.svg)
    assert root.tag == f"{SVG}svg"
    assert tuple(float(v) for v in root.get("viewBox").split()) == figure.viewbox
    assert root.find(f"{SVG}title").text == figure.title
    assert root.get("stroke") == "currentColor" and root.get("fill") == "none"
    for element in root.iter():
        assert element.tag not in (f"{SVG}image", f"{SVG}script", f"{SVG}foreignObject", f"{SVG}style")
        for attribute, value in element.attrib.items():
            if attribute.endswith("href"):
                assert value.startswith("#"), (attribute, value)
            for target in re.findall(r"url\(([^)]*)\)", value):
                assert target.strip("'\" ").startswith("#"), value
            assert "@import" not in value
            if attribute in ("fill", "stroke"):
                assert value in ("none", "currentColor"), (attribute, value)


def test_positions_lie_inside_their_figure_and_match_the_view(lib):
    for point in lib.points:
        figure = lib.figures[point.figure]
        x0, y0, width, height = figure.viewbox
        if figure.view == "right":
            expected = {"at"}
        else:
            expected = {"paired": {"right", "left"}, "midline": {"at"}, "left": {"left"},
                        "right": {"right"}}[point.laterality]
        assert set(point.positions) == expected, point.code
        for x, y in point.positions.values():
            assert x0 <= x <= x0 + width and y0 <= y <= y0 + height, point.code


def test_sides_are_drawn_where_the_view_puts_them(lib):
    """From behind, the person's left is on the viewer's left; from the front, on the right."""
    pos = {p.code: p.positions for p in lib.points}
    for code in ("B 40", "GB 20", "GB 21"):  # seen from behind
        assert pos[code]["left"][0] < pos[code]["right"][0], code
    assert pos["SP 12"]["right"][0] < pos["SP 12"]["left"][0]  # seen from the front
    middle = lib.figures["soles"].viewbox[2] / 2  # the left sole is drawn on the left
    assert pos["heart"]["left"][0] < middle and pos["ball-of-foot"]["right"][0] > middle
    assert pos["outer-area"]["left"][0] < pos["heart"]["left"][0]  # toward the little-toe edge
    for side in ("left", "right"):
        assert pos["foot"][side][1] > pos["sciatic"][side][1]  # toward the back of the heel
        assert pos["foot"][side][0] == pos["sciatic"][side][0]
    assert pos["LV 3"]["at"][1] > pos["LV 2"]["at"][1]  # further from the toes


def test_placement_mirrors_right_view_figures_for_the_left(lib):
    width = lib.figures["ankle-inner"].viewbox[2]
    x, y = lib.lookup("K 3").positions["at"]
    right, left = lib.placement("K 3", "right"), lib.placement("K 3", "left")
    assert (right.x, right.y, right.mirrored) == (x, y, False)
    assert (left.x, left.y, left.mirrored) == (width - x, y, True)
    assert (lib.placement("SP 12", "left").x, lib.placement("SP 12", "left").mirrored) == (
        lib.lookup("SP 12").positions["left"][0], False)
    assert lib.placement("GV 20").mirrored is False
    assert lib.placement("heart").figure.name == "soles"
    with pytest.raises(PointsError) as info:
        lib.placement("heart", "right")
    assert info.value.lines() == ["heart is on the left side only, not the right"]
    with pytest.raises(PointsError) as info:
        lib.placement("SP 6")
    assert info.value.lines() == ['SP 6 is on both sides; say which: "right" or "left"']


# --------------------------------------------------------------------------- user points files

USER_POINT = '''
[[points]]
code = "KI 7"
name = "Fuliu"
kind = "acupressure"
region = "inner lower leg"
location = "two finger widths above K 3"
laterality = "paired"
figure = "leg-inner"
at = [150, 230]
cautions = ["pregnancy"]
'''


def user(text: str, name: str = "my.toml"):
    return parse_points(textwrap.dedent(text).lstrip("\n"), name)


def problems(text: str) -> list[str]:
    with pytest.raises(PointsError) as info:
        user(text)
    return info.value.lines()


def test_a_user_points_file_merges(write):
    path = write("mine.toml", USER_POINT + '''
        [[points]]
        code = "calf"
        spoken = "the middle of the calf"
        kind = "reflexology"
        region = "calf"
        location = "the middle of the calf"
        find = "Halfway down the back of the lower leg."
        laterality = "paired"
        cautions = ["calm"]

        [cautions.calm]
        say = "Go gently."
        text = "Gently."
        safety = "Go gently everywhere."
    ''')
    lib = load_library(path)
    assert [p.code for p in lib.points] == ORDER + ["KI 7", "calf"]
    ki7 = lib.lookup("kidney 7")
    assert (ki7.code, ki7.spoken, ki7.find, ki7.source) == ("KI 7", "Kidney 7", "two finger widths above K 3", "")
    assert lib.lookup("K 7") is ki7  # another spelling of the channel finds it too
    calf = lib.lookup("middle of the calf")
    assert calf.figure == "" and dict(calf.positions) == {} and lib.placement("calf", "left") is None
    assert lib.cautions["calm"].say == "Go gently." and "pregnancy" in lib.cautions
    assert lib.placement("KI 7", "left").mirrored
    assert load_library().points == bundled_library().points  # the bundled library is untouched


def test_points_file_problems(tmp_path):
    with pytest.raises(PointsError) as info:
        load_library(tmp_path / "missing.toml")
    assert info.value.lines() == [f"{tmp_path / 'missing.toml'}: no such points file; check the path"]
    with pytest.raises(PointsError) as info:
        user('[[points]\ncode = "x"\n')
    assert info.value.lines() == [
        "my.toml:1: TOML syntax error: Expected ']]' at the end of an array declaration; "
        "see https://toml.io for the syntax"]


# Each case: a user points file with one mistake, and the exact line the user sees.
CATALOGUE = {
    "unknown key": (
        USER_POINT + 'colour = "red"\n',
        'my.toml:11: points[0].colour: unknown key; allowed keys: code, aliases, note, name, spoken, kind, source, '
        'region, location, find, say_location, limb, laterality, figure, right, left, at, cautions',
    ),
    "unknown top-level key": (
        USER_POINT + "[point]\n",
        'my.toml:11: point: unknown key; did you mean "points"?',
    ),
    "figures belong to rlsaudio": (
        USER_POINT + '[figures.calf]\ntitle = "Calf"\n',
        "my.toml:11: figures.calf: a points file adds points and cautions only; the figures are rlsaudio's own, "
        "so remove [figures]",
    ),
    "no points": (
        '[cautions.calm]\nsay = "a"\ntext = "b"\nsafety = "c"\n',
        "my.toml: no points; add at least one [[points]] table with code, kind, region, location and laterality",
    ),
    "points not tables": (
        'points = ["SP 6"]\n',
        "my.toml:1: points: expected [[points]] tables, got an array",
    ),
    "missing code": (
        USER_POINT.replace('code = "KI 7"\n', ""),
        'my.toml:1: points[0]: missing "code"; add code = "..." (the code routines use, like "SP 6")',
    ),
    "missing location": (
        USER_POINT.replace('location = "two finger widths above K 3"\n', ""),
        'my.toml:1: points[0]: missing "location"; add location = "..."',
    ),
    "code too long": (
        USER_POINT.replace('"KI 7"', '"Kidney seven, inner leg"'),
        "my.toml:2: points[0].code: is 23 characters long, more than the 20 allowed; shorten it",
    ),
    "code not printable": (
        USER_POINT.replace('"KI 7"', '"KI\\u200b7"'),
        "my.toml:2: points[0].code: contains an invisible formatting character (U+200B ZERO WIDTH SPACE); remove it",
    ),
    "code without letters": (
        USER_POINT.replace('"KI 7"', '"--"'),
        'my.toml:2: points[0].code: "--" has no letter or digit; use a code like "SP 6"',
    ),
    "code not text": (
        USER_POINT.replace('"KI 7"', "7"),
        "my.toml:2: points[0].code: expected text in quotes, got 7",
    ),
    "code that is no channel needs spoken": (
        USER_POINT.replace('"KI 7"', '"calf"'),
        'my.toml:1: points[0]: missing "spoken"; "calf" is not a channel and number like "SP 6", so say how to '
        'speak it: spoken = "..."',
    ),
    "unknown kind": (
        USER_POINT.replace('kind = "acupressure"', 'kind = "massage"'),
        'my.toml:4: points[0].kind: unknown kind "massage"; use "acupressure" or "reflexology"',
    ),
    "unknown source": (
        USER_POINT + 'source = "acupresure"\n',
        'my.toml:11: points[0].source: unknown source "acupresure"; did you mean "acupressure"?',
    ),
    "laterality misspelt": (
        USER_POINT.replace('"paired"', '"pared"'),
        'my.toml:7: points[0].laterality: unknown laterality "pared"; did you mean "paired"?',
    ),
    "laterality unknown": (
        USER_POINT.replace('"paired"', '"both"'),
        'my.toml:7: points[0].laterality: unknown laterality "both"; use "paired", "midline", "left" or "right"',
    ),
    "unknown figure": (
        USER_POINT.replace('"leg-inner"', '"leg-iner"'),
        'my.toml:8: points[0].figure: unknown figure "leg-iner"; did you mean "leg-inner"?',
    ),
    "unknown caution": (
        USER_POINT.replace('"pregnancy"', '"pregnant"'),
        'my.toml:10: points[0].cautions[0]: unknown caution "pregnant"; did you mean "pregnancy"?',
    ),
    "caution twice": (
        USER_POINT.replace('["pregnancy"]', '["light", "light"]'),
        "my.toml:10: points[0].cautions: names a caution twice; list each once",
    ),
    "redefining a bundled caution": (
        USER_POINT + '[cautions.light]\nsay = "a"\ntext = "b"\nsafety = "c"\n',
        'my.toml:11: cautions.light: rlsaudio already has a caution "light"; use it as it is, or give yours '
        'another name',
    ),
    "caution without safety words": (
        USER_POINT.replace('"pregnancy"', '"calm"') + '[cautions.calm]\nsay = "a"\ntext = "b"\n',
        'my.toml:11: cautions.calm: missing "safety"; add safety = "..."',
    ),
    "position outside the figure": (
        USER_POINT.replace("[150, 230]", "[150, 400]"),
        'my.toml:9: points[0].at: [150, 400] is outside figure "leg-inner" (viewBox 0 0 240 340); '
        "x goes from 0 to 240, y from 0 to 340",
    ),
    "position not a pair of numbers": (
        USER_POINT.replace("[150, 230]", '[150, "230"]'),
        'my.toml:9: points[0].at: expected a position [x, y], got an array',
    ),
    "right-view figure takes at": (
        USER_POINT.replace("at = [150, 230]\n", ""),
        'my.toml:1: points[0]: missing "at"; figure "leg-inner" draws the right side only (the page mirrors it '
        "for the left), so give at = [x, y]",
    ),
    "paired point on a both-sides figure": (
        USER_POINT.replace('"leg-inner"', '"knee-back"').replace("at = [150, 230]", "right = [220, 174]"),
        'my.toml:1: points[0]: missing "left"; figure "knee-back" draws both sides, so a paired point gives '
        "right = [x, y] and left = [x, y]",
    ),
    "midline point on a both-sides figure": (
        USER_POINT.replace('"leg-inner"', '"face"').replace('"paired"', '"midline"')
        + "right = [130, 100]\n",
        "my.toml:11: points[0].right: not used here; a midline point has one position: at = [x, y]",
    ),
    "position without a figure": (
        USER_POINT.replace('figure = "leg-inner"\n', ""),
        'my.toml:8: points[0].at: a position needs a figure; add figure = "..." or remove at',
    ),
    "reuses a bundled code": (
        USER_POINT.replace('"KI 7"', '"sp-6"'),
        'my.toml:2: points[0].code: "sp-6" is already the code of the bundled point SP 6; choose another code',
    ),
    "reuses a bundled alias": (
        USER_POINT.replace('"KI 7"', '"CV 26"'),
        'my.toml:2: points[0].code: "CV 26" is already an alias of the bundled point GV 26; choose another code',
    ),
    "alias of a bundled point": (
        USER_POINT + 'aliases = ["KI 7", "BL 40"]\n',
        'my.toml:11: points[0].aliases[1]: "BL 40" is already an alias of the bundled point B 40; '
        "remove the alias",
    ),
    "spoken name of a bundled point": (
        USER_POINT.replace('"KI 7"', '"calf"') + 'spoken = "Spleen 6"\n',
        'my.toml:11: points[0].spoken: "Spleen 6" is already the spoken name of the bundled point SP 6; '
        'give it another spoken = "..."',
    ),
    "the same code twice in one file": (
        USER_POINT + USER_POINT.replace("KI 7", "ki-7"),
        'my.toml:13: points[1].code: "ki-7" is already the code of points[0] (KI 7); choose another code',
    ),
}


@pytest.mark.parametrize("case", list(CATALOGUE), ids=list(CATALOGUE))
def test_validation_catalogue(case):
    text, expected = CATALOGUE[case]
    assert problems(text) == [expected]


def test_every_problem_is_reported_in_file_order():
    assert problems(USER_POINT.replace('"paired"', '"pared"') + USER_POINT.replace("KI 7", "KI 8").replace(
        '"leg-inner"', '"leg"')) == [
        'my.toml:7: points[0].laterality: unknown laterality "pared"; did you mean "paired"?',
        'my.toml:19: points[1].figure: unknown figure "leg"; use "knee-back", "face", "head-neck-back", '
        '"neck-shoulders", "head-side", "ankle-inner", "forearm-hand", "foot-top", "leg-inner", "hip-groin", '
        '"knee-front" or "soles"',
    ]


def test_a_misspelt_key_and_a_misplaced_position_say_both_halves():
    assert problems(USER_POINT.replace("location", "locaton")) == [
        'my.toml:1: points[0]: missing "location"; add location = "..."',
        'my.toml:6: points[0].locaton: unknown key; did you mean "location"?',
    ]
    assert problems(USER_POINT.replace("at = [150, 230]", "right = [150, 230]")) == [
        'my.toml:1: points[0]: missing "at"; figure "leg-inner" draws the right side only (the page mirrors it '
        "for the left), so give at = [x, y]",
        'my.toml:9: points[0].right: not used here; figure "leg-inner" draws the right side only (the page '
        "mirrors it for the left), so give at = [x, y]",
    ]
