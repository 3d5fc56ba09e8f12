"""The demo shop: channels, shops, products and agents, with the traits that shape the generated data.

Everything here is plain data. Traits are chosen so that the metrics differ visibly between agents, channels and
products (a fast star agent, a slow one, a product with quality trouble, a channel that complains more).
"""

from __future__ import annotations

from dataclasses import dataclass

MAIN_SHOP = "暖山服饰旗舰店"
HOME_SHOP = "暖山家居生活馆"


@dataclass(frozen=True, slots=True)
class Channel:
    name: str
    weight: float  # share of conversations and orders
    complaint_factor: float  # relative complaint propensity (platform norms differ)
    rating_share: float  # share of ended conversations the customer rates


CHANNELS: tuple[Channel, ...] = (
    Channel("淘宝", 0.44, 1.0, 0.42),
    Channel("京东", 0.23, 0.9, 0.38),
    Channel("抖音", 0.21, 1.35, 0.26),
    Channel("官网", 0.12, 0.7, 0.30),
)


@dataclass(frozen=True, slots=True)
class Product:
    name: str
    code: str  # SKU prefix
    shop: str
    price: int  # list price, yuan
    weight: float  # popularity
    sizes: tuple[str, ...]  # empty for products without sizes
    colors: tuple[str, ...]
    return_rate: float  # share of orders returned
    bad_review_rate: float  # share of reviews rated 1-2
    issues: tuple[str, ...]  # quality issues customers mention (keys of feedback.ISSUE_TEXT)
    material: str


_CLOTHES = ("S", "M", "L", "XL", "XXL")
_SHOES = ("36", "37", "38", "39", "40", "41", "42", "43")

PRODUCTS: tuple[Product, ...] = (
    Product("羽绒服", "YRF", MAIN_SHOP, 599, 1.6, _CLOTHES, ("黑色", "米白", "雾霾蓝", "焦糖色"), 0.11, 0.035,
            ("跑绒", "色差", "尺码偏小", "不保暖"), "90%白鸭绒"),
    Product("冲锋衣", "CFY", MAIN_SHOP, 399, 1.0, _CLOTHES, ("黑色", "军绿", "藏青"), 0.08, 0.025,
            ("开线", "拉链坏", "色差"), "三合一防泼水面料"),
    Product("羊毛衫", "YMS", MAIN_SHOP, 259, 1.1, _CLOTHES, ("燕麦色", "酒红", "灰色", "黑色"), 0.12, 0.045,
            ("起球", "扎人", "缩水", "色差"), "50%绵羊毛"),
    Product("加绒卫衣", "WY", MAIN_SHOP, 159, 1.4, _CLOTHES, ("灰色", "黑色", "杏色"), 0.09, 0.025,
            ("掉毛", "起球", "尺码偏大"), "加绒棉质"),
    Product("牛仔裤", "NZK", MAIN_SHOP, 199, 1.2, ("26", "27", "28", "29", "30", "31", "32"), ("浅蓝", "深蓝", "黑色"),
            0.14, 0.030, ("掉色", "尺码偏小", "开线"), "弹力棉"),
    Product("保暖内衣套装", "NY", MAIN_SHOP, 129, 1.3, _CLOTHES, ("肤色", "黑色", "酒红"), 0.06, 0.020,
            ("起球", "不保暖", "有异味"), "德绒"),
    Product("雪地靴", "XDX", MAIN_SHOP, 269, 0.8, _SHOES, ("栗色", "黑色", "灰色"), 0.13, 0.040,
            ("开胶", "尺码偏小", "有异味"), "羊皮毛一体"),
    Product("羊绒围巾", "WJ", MAIN_SHOP, 189, 0.6, (), ("驼色", "红色", "格纹"), 0.05, 0.025, ("掉毛", "色差", "扎人"),
            "100%山羊绒"),
    Product("四件套", "SJT", HOME_SHOP, 299, 0.9, ("1.5米床", "1.8米床", "2.0米床"), ("奶油白", "灰蓝", "豆沙粉"), 0.07,
            0.030, ("掉色", "有异味", "起球"), "全棉磨毛"),
    Product("乳胶枕", "RJZ", HOME_SHOP, 169, 0.7, (), ("白色",), 0.06, 0.035, ("有异味", "变形"), "天然乳胶"),
    Product("珊瑚绒毛毯", "MT", HOME_SHOP, 99, 0.8, ("1.5×2米", "2×2.3米"), ("灰色", "粉色", "米色"), 0.05, 0.030,
            ("掉毛", "色差"), "珊瑚绒"),
    Product("电热毯", "DRT", HOME_SHOP, 139, 0.6, ("单人", "双人"), ("白色",), 0.08, 0.040, ("不发热", "有异味"),
            "双控调温"),
    Product("保温杯", "BWB", HOME_SHOP, 89, 0.7, ("350ml", "500ml"), ("白色", "黑色", "薄荷绿"), 0.04, 0.025,
            ("漏水", "不保温", "掉漆"), "316不锈钢"),
)

PRODUCT_BY_NAME = {p.name: p for p in PRODUCTS}

# The recent complaint spike is about this product and category.
SPIKE_PRODUCT = "羽绒服"
SPIKE_CATEGORY = "物流"


@dataclass(frozen=True, slots=True)
class Agent:
    name: str
    shift: tuple[int, int]  # local hours [start, end) on duty
    speed: float  # median first-response seconds under normal load
    resolve_rate: float
    rating_bias: float  # added to the rating score: attitude and skill
    weight: float  # relative share of chats while on duty


AGENTS: tuple[Agent, ...] = (
    Agent("小王", (8, 17), 11.0, 0.94, 0.40, 1.3),
    Agent("小李", (8, 17), 19.0, 0.90, 0.15, 1.0),
    Agent("大刘", (8, 17), 48.0, 0.78, -0.35, 0.9),
    Agent("阿杰", (11, 20), 15.0, 0.89, 0.10, 1.1),
    Agent("小陈", (11, 20), 17.0, 0.92, 0.25, 1.0),
    Agent("小张", (11, 20), 34.0, 0.85, -0.10, 0.9),
    Agent("小美", (15, 24), 24.0, 0.91, 0.30, 1.1),
    Agent("婷婷", (15, 24), 28.0, 0.87, 0.00, 1.0),
    Agent("晓雯", (15, 24), 58.0, 0.80, -0.45, 0.8),
    Agent("老周", (0, 9), 65.0, 0.83, -0.15, 1.0),
)


def agents_on_duty(hour: int) -> list[Agent]:
    """Agents whose shift covers ``hour`` (every hour is covered by at least one)."""
    return [a for a in AGENTS if a.shift[0] <= hour < a.shift[1]]


EXPRESS = ("中通", "圆通", "韵达", "申通")  # default carriers; 顺丰 costs extra, 京东 orders go by 京东物流
