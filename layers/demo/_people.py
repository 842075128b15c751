"""The demo county's people: grid staff (网格长, 网格员, 指导员, 社区民警) and patrol teams.

Names are drawn from common surnames and given-name characters; phones are fictional
(``1990000xxxx``, a block no operator hands out) and unique per person.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from layers.demo._base import Part, Sizes, records, rng_for
from layers.demo._geography import Geography

_SURNAMES = list(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余叶程"
)
_GIVEN = list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国志红云海燕玲晓文斌慧鹏飞宇")
_NUMERALS = "一二三四五六七八九十"


class _People:
    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.phones = iter(rng.permutation(10_000))
        self.names: set[str] = set()

    def person(self) -> tuple[str, str]:
        while True:
            given = "".join(self.rng.choice(_GIVEN, int(self.rng.integers(1, 3))))
            name = str(self.rng.choice(_SURNAMES)) + given
            if name not in self.names:
                self.names.add(name)
                return name, f"1990000{next(self.phones):04d}"


def build_people(
    seed: int, sizes: Sizes, geo: Geography, grids: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Draw grid staff and patrol teams (stream ``PEOPLE``).

    Every grid gets a 网格长 (a village cadre who heads up to three grids), a 专职网格员,
    one or two 兼职网格员, the village's 网格指导员 (a township cadre) and a 社区民警 who
    serves about six grids of the township.
    """
    rng = rng_for(seed, Part.PEOPLE)
    people = _People(rng)
    rows: list[dict[str, object]] = []
    towns = geo.townships.set_index("code")
    vill = geo.villages.set_index("code")
    badge_seq = iter(range(1, 10_000))
    for t_code in towns.index:
        t_vills = vill.index[vill["township_code"] == t_code]
        t_grids = grids[grids["village_code"].isin(t_vills)].sort_values("code")
        n_police = max(1, int(np.ceil(len(t_grids) / 6)))
        police = [(*people.person(), f"99{next(badge_seq):04d}") for _ in range(n_police)]
        for v_code in t_vills:
            v_grids = t_grids[t_grids["village_code"] == v_code]
            heads = [people.person() for _ in range(int(np.ceil(len(v_grids) / 3)))]
            guide = people.person()
            for k, g in enumerate(v_grids["code"]):
                members = [
                    (heads[k // 3], "网格长"),
                    (people.person(), "专职网格员"),
                    *((people.person(), "兼职网格员") for _ in range(int(rng.integers(1, 3)))),
                    (guide, "网格指导员"),
                ]
                for (name, phone), role in members:
                    rows.append(
                        {"grid_code": g, "name": name, "role": role, "phone": phone, "badge": None}
                    )
                pos = int(np.flatnonzero(t_grids["code"].to_numpy() == g)[0])
                p_name, p_phone, p_badge = police[min(pos // 6, n_police - 1)]
                rows.append(
                    {
                        "grid_code": g,
                        "name": p_name,
                        "role": "社区民警",
                        "phone": p_phone,
                        "badge": p_badge,
                    }
                )
    staff = pd.DataFrame(rows, columns=["grid_code", "name", "role", "phone", "badge"]).astype(
        object
    )

    teams = []
    k = 0
    for t in records(towns, index=True):
        short = str(t.name)[:-1]
        for i in range(sizes.patrol_teams_per_township):
            k += 1
            leader, phone = people.person()
            teams.append(
                {
                    "source_id": f"DEMO-PT-{k:02d}",
                    "name": f"{short}巡逻{_NUMERALS[i]}队",
                    "unit": f"{short}派出所",
                    "leader": leader,
                    "phone": phone,
                    "members": int(rng.integers(4, 9)),
                }
            )
    return staff, pd.DataFrame(teams).astype({"members": "int64"})
