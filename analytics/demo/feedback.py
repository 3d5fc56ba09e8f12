"""Complaint, review and return texts, and the shop's existing knowledge base."""

from __future__ import annotations

import random

from analytics.demo.phrases import CITIES, days_phrase, maybe, pick
from analytics.demo.shop import Product

Rng = random.Random

ISSUE_TEXT: dict[str, tuple[str, ...]] = {
    "跑绒": ("跑绒严重", "一直往外钻毛", "穿一天身上全是绒", "钻绒很厉害"),
    "色差": ("色差太大了", "颜色和图片差太多", "实物颜色比图上深好多", "有色差"),
    "尺码偏小": ("尺码偏小", "按平时尺码拍的小了一码", "太紧了穿不上", "码数偏小"),
    "尺码偏大": ("尺码偏大", "大了一圈", "码数偏大"),
    "不保暖": ("一点都不保暖", "穿着还是冷", "保暖效果很差"),
    "开线": ("开线了", "缝线都开了", "线头很多还开线"),
    "拉链坏": ("拉链坏了", "拉链拉不上", "拉链卡住了"),
    "起球": ("起球了", "穿两次就起球", "起球严重"),
    "扎人": ("扎人", "穿着很扎", "贴身穿扎得难受"),
    "缩水": ("缩水了", "洗一次缩了一圈", "缩水严重"),
    "掉毛": ("掉毛", "掉毛严重", "一直掉毛"),
    "掉色": ("掉色", "洗一次掉色严重", "染得手上都是颜色"),
    "有异味": ("有异味", "一股怪味", "味道很大", "有刺鼻的味道"),
    "开胶": ("开胶了", "鞋底开胶", "穿一周就开胶"),
    "变形": ("变形了", "用几天就塌了", "回弹很差"),
    "不发热": ("不发热", "插上电没反应", "一边热一边不热"),
    "漏水": ("漏水", "盖子拧紧还漏水", "密封不好漏水"),
    "不保温": ("不保温", "两小时就凉了", "保温效果很差"),
    "掉漆": ("掉漆", "用几天漆就掉了", "外壳掉漆"),
}


def issue_text(r: Rng, issue: str) -> str:
    return pick(r, ISSUE_TEXT[issue])


CATEGORIES = ("物流", "质量", "服务态度", "退款售后", "价格优惠", "发票", "其他")
CATEGORY_WEIGHTS = (0.30, 0.26, 0.12, 0.16, 0.07, 0.04, 0.05)

_LEAD = ("", "", "", "投诉：", "我要投诉，", "投诉！", "强烈投诉，")
_TAIL = ("", "", "，太失望了", "，必须给个说法", "，再不处理就投诉到12315", "，请尽快处理", "，要求赔偿", "，什么破店",
         "，第一次遇到这种情况", "！！", "。")


def _logistics(r: Rng, p: Product) -> str:
    n = days_phrase(r, 3, 8)
    return pick(r, (
        f"{p.name}下单{n}了还没发货", "快递一直不更新", "快递员不送上门直接放驿站", "包裹被暴力运输，外包装都破了",
        "显示签收了但是我没收到", f"物流太慢了，{n}才到", f"快递卡在{pick(r, CITIES)}不动了", "说好48小时发货，到现在没发",
    ))


def _quality(r: Rng, p: Product) -> str:
    said = issue_text(r, pick(r, p.issues))
    return pick(r, (f"收到的{p.name}{said}", f"{p.name}{said}，要求退货", f"刚买的{p.name}{said}", f"{p.name}质量太差，{said}"))


def _service(r: Rng, p: Product) -> str:
    return pick(r, ("客服态度很差，爱答不理", f"客服回复太慢，等了{r.randint(10, 60)}分钟", "客服答非所问，复制粘贴",
                    "客服承诺的事情没兑现", "问了三次都没人处理", "客服直接不回消息了"))


def _after_sale(r: Rng, p: Product) -> str:
    n = days_phrase(r, 3, 10)
    return pick(r, (f"退货寄回{n}了退款还没到", "申请售后一直没人处理", f"{p.name}换货寄回去{n}了没动静", "运费险没理赔",
                    "退款被无故拒绝", "仅退款申请一直不通过"))


def _price(r: Rng, p: Product) -> str:
    n = r.choice((20, 30, 50, 60, 80, 100))
    return pick(r, ("刚买就降价，不给补差价", "优惠券用不了", f"直播间价格比店铺低{n}元", "满减没生效，多付了钱",
                    f"{p.name}降价{n}，说好的价保不认"))


def _invoice(r: Rng, p: Product) -> str:
    return pick(r, ("发票一直没开", "发票抬头开错了", "要专票一直拖着不给开", "发票申请半个月了还没收到"))


def _other(r: Rng, p: Product) -> str:
    return pick(r, ("赠品没收到", f"发错货了，拍的{p.name}寄来别的", "商品页描述和实物不符", "会员积分没到账",
                    "包装太简陋了"))


_BY_CATEGORY = {"物流": _logistics, "质量": _quality, "服务态度": _service, "退款售后": _after_sale, "价格优惠": _price,
                "发票": _invoice, "其他": _other}


def complaint_text(r: Rng, category: str, p: Product) -> str:
    return pick(r, _LEAD) + _BY_CATEGORY[category](r, p) + pick(r, _TAIL)


def spike_text(r: Rng, p: Product) -> str:
    """The complaint the recent spike is made of: one product, parcels stuck at a hub."""
    n = days_phrase(r, 3, 6)
    city = pick(r, ("武汉", "郑州", "武汉", "合肥"))
    core = pick(r, (
        f"买的{p.name}快递一直不更新", f"{p.name}发货{n}了物流一直不更新", f"快递卡在{city}中转站不动了，{p.name}到底什么时候到",
        f"物流{n}没更新了，是不是丢件了", f"{p.name}的快递一直不更新，客服只会让等", f"快递一直不更新，{p.name}等着穿",
        f"物流停在{city}{n}了", f"快递一直显示在{city}转运中心，{n}没动",
    ))
    return pick(r, _LEAD) + core + pick(r, _TAIL)


def severity(r: Rng, category: str, spike: bool = False) -> str:
    x = r.random() + (0.25 if category in ("质量", "退款售后") else 0.0) + (0.3 if spike else 0.0)
    return "紧急" if x > 1.05 else "严重" if x > 0.7 else "一般"


# ---------------------------------------------------------------- reviews
_GOOD = ("质量很好", "做工不错", "穿着很舒服", "很暖和", "尺码标准", "颜色和图片一样", "性价比很高", "面料摸着很舒服",
         "版型好看", "比想象中好", "很满意", "家人很喜欢", "值这个价", "用着很好")
_SHIP = ("物流很快", "快递很快，{n}就到了", "包装很用心", "发货速度快", "顺丰很给力", "")
_SERVICE = ("客服很耐心", "客服态度很好", "客服回复很及时", "", "", "")
_AGAIN = ("会回购的", "已经第二次买了", "推荐购买", "好评", "", "", "五星好评")
_BAD_TAIL = ("，太失望了", "，差评", "，不会再买了", "，申请退货了", "，客服也不管", "，和描述严重不符", "")
_MEH = ("还行吧", "一般般", "凑合", "中规中矩", "和价格相符")
NO_TEXT = "此用户没有填写评价。"


def review_text(r: Rng, p: Product, rating: int) -> str | None:
    if r.random() < 0.12:
        return NO_TEXT if r.random() < 0.7 else None
    if rating >= 4:
        parts = [pick(r, _GOOD), pick(r, _GOOD), pick(r, _SHIP).format(n=days_phrase(r, 1, 3)), pick(r, _SERVICE),
                 pick(r, _AGAIN)]
        if rating == 4:
            parts.append(pick(r, ("就是有点小色差", "稍微有点线头", "快递慢了点", "略贵")))
        return "，".join(dict.fromkeys(x for x in parts if x)) + pick(r, ("", "。", "！", "～"))
    if rating == 3:
        return pick(r, _MEH) + "，" + issue_text(r, pick(r, p.issues)) + maybe(r, 0.5, "，其他还好") + pick(r, ("", "。"))
    said = issue_text(r, pick(r, p.issues))
    extra = maybe(r, 0.3, "，" + pick(r, ("物流还慢", "客服态度也差", "联系客服半天不回", "退货还麻烦")))
    return pick(r, (f"{p.name}{said}", f"收到就{said}", f"{said}", f"质量太差了，{said}")) + extra + pick(r, _BAD_TAIL)


# ---------------------------------------------------------------- returns
def return_reason(r: Rng, p: Product, quality_issue: bool) -> str:
    if quality_issue:
        return pick(r, ("质量问题", "质量问题", "色差/与描述不符", "发错货"))
    options = ["七天无理由", "七天无理由", "拍错/不想要了", "物流太慢"]
    if p.sizes:
        options += ["尺码不合适", "尺码不合适", "尺码不合适"]
    return pick(r, options)


# ---------------------------------------------------------------- knowledge base the shop already has
KB_ENTRIES: tuple[tuple[str, str, str], ...] = (
    ("多久发货", "现货付款后48小时内发货，预售款按商品页标注的时间发货。", "发货"),
    ("支持七天无理由退换货吗", "支持。收到商品7天内，吊牌完好、不影响二次销售即可在订单页申请退换货。", "退换货"),
    ("运费险怎么理赔", "淘宝、抖音订单默认赠送运费险，退货签收后72小时内自动理赔到支付账户。", "退换货,运费险"),
    ("怎么开发票", "确认收货后在订单详情页申请开票，填写抬头和税号，电子发票1-3个工作日发到邮箱。", "发票"),
    ("退款多久到账", "退货仓库签收后1-2个工作日内审核，原路退回，银行卡1-3天到账。", "退款"),
    ("有没有优惠券", "店铺首页可领满300减30的店铺券，可与平台券叠加使用。", "优惠"),
    ("羽绒服怎么洗", "建议手洗或干洗，水温不超过30度，平铺晾干，不要暴晒和拧干。", "洗涤,羽绒服"),
    ("偏远地区包邮吗", "新疆、西藏等偏远地区不包邮，需补运费差价。", "快递"),
    ("质量问题怎么处理", "拍照发给客服核实，质量问题包退换，来回运费由店铺承担。", "售后,质量"),
)
