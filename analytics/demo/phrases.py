"""Word material shared by the text builders: slots, synonyms, particles, colloquial rewrites and personal data.

Personal data (names, phones, addresses, tracking numbers, tax ids) is invented from parts here so that the masking
code has realistic input; none of it belongs to a real person.
"""

from __future__ import annotations

import bisect
import itertools
import random
from collections.abc import Sequence
from typing import Any


def pick(rng: random.Random, seq: Sequence[str]) -> str:
    return seq[int(rng.random() * len(seq))]


def maybe(rng: random.Random, p: float, text: str) -> str:
    return text if rng.random() < p else ""


class Weighted:
    """A reusable weighted choice (cumulative weights computed once; ``random.choices`` redoes them per call)."""

    __slots__ = ("items", "cum", "total")

    def __init__(self, items: Sequence, weights: Sequence[float]):
        self.items = tuple(items)
        self.cum = tuple(itertools.accumulate(weights))
        self.total = self.cum[-1]

    def __call__(self, rng: random.Random) -> Any:
        return self.items[bisect.bisect_right(self.cum, rng.random() * self.total)]


# ---------------------------------------------------------------- framing of a customer turn
OPENERS = (
    "", "", "", "", "", "", "你好，", "您好，", "你好 ", "亲，", "亲 ", "客服你好，", "hello，", "哈喽，", "在吗？",
    "在吗 ", "在不在，", "请问", "请问一下，", "问一下，", "问下，", "麻烦问下，", "打扰一下，", "你好请问", "老板，",
    "美女，", "小姐姐，", "掌柜的，", "客服，",
)
ENDINGS_Q = ("？", "？", "？", "?", "??", "", "", "呀？", "呢？", "啊？", "哈？", "～", "？？？", "。")
ENDINGS_S = ("", "", "。", "。", "！", "!", "～", "啊", "哈", "呀", "…", "。。。")
URGE = ("", "", "", "", "急用，", "着急穿，", "比较急，", "过几天要出门，", "下周要送人，", "等着用呢，", "麻烦快点，")
ASK_TAILS = ("", "", "", "", "", "", " 谢谢", "，谢谢", "，麻烦了", "，辛苦", "，拜托了", "，谢谢亲", "，麻烦看下")

# colloquial forms and common typos, applied to a finished customer sentence with a small probability each
COLLOQUIAL: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("什么", ("啥", "神马", "什么")),
    ("怎么", ("咋", "怎么", "肿么")),
    ("没有", ("没", "木有", "没有")),
    ("这个", ("这个", "介个", "这")),
    ("能不能", ("能否", "可不可以", "能不能")),
    ("可以吗", ("行吗", "可以不", "可以么")),
    ("在吗", ("在么", "在嘛", "在吗")),
    ("一下", ("一下", "下")),
    ("谢谢", ("谢谢", "多谢", "3q", "谢啦")),
    ("尺码", ("尺码", "尺寸", "尺吗")),
    ("快递", ("快递", "快递", "物流", "包裹")),
    ("知道", ("知道", "晓得", "造")),
    ("已经", ("已经", "都", "已")),
)


def colloquial(rng: random.Random, text: str, p: float = 0.25) -> str:
    for word, forms in COLLOQUIAL:
        if word in text and rng.random() < p:
            text = text.replace(word, pick(rng, forms), 1)
    return text


# ---------------------------------------------------------------- slots
NUM_CN = ("一", "两", "三", "四", "五", "六", "七", "八", "九", "十")


def days_phrase(rng: random.Random, lo: int = 2, hi: int = 7) -> str:
    n = rng.randint(lo, hi)
    if rng.random() < 0.5:
        return f"{NUM_CN[n - 1] if n <= 10 else n}天"
    return f"{n}天"


WHEN = ("什么时候", "啥时候", "几时", "多久", "大概几天", "哪天", "多长时间")
SHIP_VERBS = ("发货", "发货", "发出", "寄出", "能发", "发走", "给发")
EXPRESS_ALL = ("顺丰", "中通", "圆通", "韵达", "申通", "京东快递", "邮政", "极兔")
CITIES = ("杭州", "广州", "上海", "武汉", "郑州", "成都", "济南", "南京", "长沙", "西安", "沈阳", "天津", "合肥", "石家庄")
TEMPS = ("零下5", "零下10", "零下15", "零下20", "零下25", "零度左右", "十几")
TIME_AGO = ("昨天", "前天", "三天前", "上周", "上周五", "双十一那天", "大前天", "周一", "前几天")


# ---------------------------------------------------------------- personal data
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
GIVEN = ("伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超",
         "秀兰", "霞", "平", "刚", "桂英", "子涵", "欣怡", "梓轩", "浩然", "雨桐", "思远", "一鸣", "佳琪", "晓燕", "建华",
         "志强", "文静", "海燕", "丹", "鑫", "博文", "诗涵")

PLACES = (
    ("浙江省", "杭州市", "西湖区"), ("浙江省", "宁波市", "鄞州区"), ("广东省", "深圳市", "南山区"),
    ("广东省", "广州市", "天河区"), ("北京市", "", "朝阳区"), ("北京市", "", "海淀区"), ("上海市", "", "浦东新区"),
    ("上海市", "", "闵行区"), ("江苏省", "南京市", "鼓楼区"), ("江苏省", "苏州市", "工业园区"), ("四川省", "成都市", "武侯区"),
    ("湖北省", "武汉市", "洪山区"), ("山东省", "青岛市", "市南区"), ("河南省", "郑州市", "金水区"),
    ("福建省", "厦门市", "思明区"), ("辽宁省", "沈阳市", "和平区"), ("黑龙江省", "哈尔滨市", "南岗区"),
    ("陕西省", "西安市", "雁塔区"), ("湖南省", "长沙市", "岳麓区"), ("重庆市", "", "渝北区"),
)
ROADS = ("文三路", "中山路", "人民路", "建设路", "解放路", "科技园南路", "长江路", "学府路", "望京街", "世纪大道", "金沙江路",
         "天府大道", "珞喻路", "香港中路", "花园路", "湖滨南路", "青年大街", "中关村大街")
ESTATES = ("阳光花园", "锦绣家园", "翠苑一区", "万科城", "碧桂园", "绿城桂花园", "幸福里", "金地名京", "保利香槟",
           "龙湖春江郦城", "世纪新城", "华润二十四城")


def person_name(rng: random.Random) -> str:
    return pick(rng, SURNAMES) + pick(rng, GIVEN)


def mobile(rng: random.Random) -> str:
    digits = "1" + pick(rng, "3456789") + str(rng.randint(0, 9)) + f"{rng.randint(0, 99_999_999):08d}"
    style = rng.random()
    if style < 0.7:
        return digits
    if style < 0.85:
        return f"{digits[:3]} {digits[3:7]} {digits[7:]}"
    return f"{digits[:3]}-{digits[3:7]}-{digits[7:]}"


def address(rng: random.Random) -> str:
    province, city, district = pick(rng, PLACES)
    road = pick(rng, ROADS)
    number = rng.randint(1, 999)
    if rng.random() < 0.6:
        tail = f"{pick(rng, ESTATES)}{rng.randint(1, 30)}栋{rng.randint(1, 4)}单元{rng.randint(1, 32)}0{rng.randint(1, 4)}"
    else:
        tail = f"{rng.randint(1, 40)}号楼{rng.randint(1, 28)}0{rng.randint(1, 6)}室"
    return f"{province}{city}{district}{road}{number}号{tail}"


def tracking_number(rng: random.Random, express: str) -> str:
    if express == "顺丰":
        return f"SF{rng.randint(10**11, 10**12 - 1)}"
    if express == "京东快递":
        return f"JDVA{rng.randint(10**10, 10**11 - 1)}"
    if express == "圆通":
        return f"YT{rng.randint(10**12, 10**13 - 1)}"
    if express == "中通":
        return f"75{rng.randint(10**11, 10**12 - 1)}"
    return f"43{rng.randint(10**11, 10**12 - 1)}"


COMPANY_PREFIX = ("杭州", "深圳", "上海", "北京", "成都", "苏州", "武汉", "南京")
COMPANY_CORE = ("云帆", "启明", "恒信", "星辰", "青禾", "博远", "数智", "汇丰源", "知行", "鼎盛")
COMPANY_TAIL = ("科技有限公司", "贸易有限公司", "文化传媒有限公司", "电子商务有限公司", "信息技术有限公司")


def company(rng: random.Random) -> str:
    return pick(rng, COMPANY_PREFIX) + pick(rng, COMPANY_CORE) + pick(rng, COMPANY_TAIL)


def tax_id(rng: random.Random) -> str:
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    return "91" + "".join(pick(rng, alphabet) for _ in range(16))


def size_for(rng: random.Random, sizes: Sequence[str]) -> str:
    return pick(rng, sizes) if sizes else ""


def body(rng: random.Random) -> tuple[int, int]:
    """Height (cm) and weight (斤) that go together."""
    height = rng.randint(150, 188)
    weight = int((height - 105) * 2 * rng.uniform(0.85, 1.25))
    return height, weight


def recommended_size(height: int, weight: int) -> str:
    """The shop's size chart (the agents' answers follow it, so the advice is consistent)."""
    score = weight + (height - 165) * 1.2
    for limit, size in ((100, "S"), (116, "M"), (132, "L"), (150, "XL")):
        if score < limit:
            return size
    return "XXL"
