"""What a demo conversation is about, and the facts the two sides share while talking about it."""

from __future__ import annotations

from dataclasses import dataclass, field

from analytics.demo.shop import Product

# topics a customer opens a chat with; pre-sale ones need no order
SIZE = "尺码"
STOCK = "商品咨询"
EXPRESS = "快递选择"
COUPON = "优惠券"
SHIP_TIME = "发货时间"
WHERE = "物流查询"
RETURN = "退换货"
FREIGHT_INS = "运费险"
INVOICE = "发票"
QUALITY = "质量问题"
ADDRESS = "修改地址"
REFUND = "退款进度"
PRICE_PROTECT = "补差价"
SERVICE = "服务投诉"
STUCK = "物流不更新"  # what the complaint spike is about

PRE_SALE: dict[str, float] = {SIZE: 0.34, STOCK: 0.22, EXPRESS: 0.12, COUPON: 0.16, SHIP_TIME: 0.16}
POST_SALE: dict[str, float] = {
    WHERE: 0.22, SHIP_TIME: 0.10, RETURN: 0.13, FREIGHT_INS: 0.05, INVOICE: 0.08, QUALITY: 0.10, ADDRESS: 0.07,
    REFUND: 0.07, PRICE_PROTECT: 0.05, SERVICE: 0.03, STUCK: 0.04, EXPRESS: 0.02, SIZE: 0.04,
}

# the complaint category a topic leads to when a chat turns into a complaint
COMPLAINT_CATEGORY: dict[str, str] = {
    WHERE: "物流", STUCK: "物流", SHIP_TIME: "物流", EXPRESS: "物流", ADDRESS: "物流",
    QUALITY: "质量", SIZE: "质量", STOCK: "质量",
    SERVICE: "服务态度",
    RETURN: "退款售后", REFUND: "退款售后", FREIGHT_INS: "退款售后",
    COUPON: "价格优惠", PRICE_PROTECT: "价格优惠",
    INVOICE: "发票",
}

# how much a topic tends to end in a complaint, and how it pulls the rating down (negative topics)
COMPLAINT_PROPENSITY: dict[str, float] = {
    WHERE: 0.9, STUCK: 4.0, SHIP_TIME: 0.8, EXPRESS: 0.1, ADDRESS: 0.3, QUALITY: 3.0, SIZE: 0.1, STOCK: 0.05,
    SERVICE: 5.0, RETURN: 1.0, REFUND: 2.0, FREIGHT_INS: 0.6, COUPON: 0.5, PRICE_PROTECT: 1.5, INVOICE: 0.6,
}
RATING_PENALTY: dict[str, float] = {
    STUCK: 0.9, QUALITY: 0.8, SERVICE: 1.2, REFUND: 0.6, WHERE: 0.25, SHIP_TIME: 0.2, PRICE_PROTECT: 0.35,
}


@dataclass(slots=True)
class Facts:
    """Everything both sides of one chat agree on; filled once, then read by the text builders."""

    topic: str
    product: Product
    shop: str
    channel: str
    color: str
    size: str
    order_id: str | None
    express: str
    tracking: str
    city: str
    resolved: bool
    transferred: bool
    promo: bool
    height: int = 165
    weight: int = 110
    extras: dict[str, str] = field(default_factory=dict)
