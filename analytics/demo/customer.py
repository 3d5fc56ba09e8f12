"""Customer turns, built from parts (framing × core question × slots × colloquial rewrite) so that thousands of
distinct, natural messages come out of a few hundred lines."""

from __future__ import annotations

import random

from analytics.demo import topics as T
from analytics.demo.phrases import (
    ASK_TAILS,
    CITIES,
    ENDINGS_Q,
    ENDINGS_S,
    EXPRESS_ALL,
    OPENERS,
    SHIP_VERBS,
    TEMPS,
    TIME_AGO,
    URGE,
    WHEN,
    address,
    colloquial,
    company,
    days_phrase,
    maybe,
    mobile,
    person_name,
    pick,
    tax_id,
)
from analytics.demo.shop import MAIN_SHOP
from analytics.demo.topics import Facts

Rng = random.Random


def _ref(f: Facts, fmt: str) -> str:
    """``fmt`` with the order id, or nothing when the chat is not about a known order."""
    return fmt.format(f.order_id) if f.order_id else ""


def _it(r: Rng, f: Facts) -> str:
    """How the customer refers to the product."""
    p = f.product.name
    return pick(r, (p, p, f"这款{p}", f"这个{p}", "这个", "这款", f"{f.color}的{p}" if f.color else p, f"你家{p}"))


def _mine(r: Rng, f: Facts) -> str:
    p = f.product.name
    return pick(r, (f"我的{p}", f"我买的{p}", f"我拍的{p}", "我的快递", "我的包裹", "我的订单", "我买的东西", "我这单"))


def _choose(r: Rng, f: Facts, options: tuple[tuple[str, str], ...]) -> str:
    """Pick a (question, kind) pair and remember the kind, so the agent answers that very question."""
    text, kind = options[int(r.random() * len(options))]
    f.extras["ask"] = kind
    return text


def _ask_size(r: Rng, f: Facts) -> str:
    p, h, w = f.product.name, f.height, f.weight
    sizes = f.product.sizes
    if not sizes:
        return _ask_stock(r, f)
    if sizes[0] == "36":
        foot = r.choice((225, 230, 235, 240, 245, 250, 255, 260, 265))
        return pick(r, (f"平时穿{f.size}的，{_it(r, f)}要拍大一码吗", f"脚长{foot / 10:g}cm穿多大的",
                        f"{p}偏大还是偏小", f"{f.size}码和平时运动鞋一样吗", f"我脚背高，{f.size}会不会挤脚",
                        f"穿{f.size}的拍哪个码"))
    if "米床" in sizes[0]:
        return pick(r, ("1.8米的床买哪个规格", "我家床是1.5米的，选哪个", "被套尺寸是多少", "2米的床有吗",
                        f"{f.size}的被套多大", "床笠还是床单款"))
    if sizes[0].isdigit():
        waist = r.randint(1, 2) + (w - 80) // 8 + 24
        return pick(r, (f"腰围{waist}寸穿多大", f"{h}，{w}斤穿几码", f"{p}是高腰还是中腰，{w}斤选多大",
                        f"平时穿{f.size}的，这条会不会紧", f"裤长多少，我身高{h}", f"{f.size}码的腰围是多少"))
    if sizes[0] in ("单人", "350ml", "1.5×2米"):
        return pick(r, (f"{_it(r, f)}有几个规格", f"{f.size}和大的差多少", f"{f.size}够用吗"))
    alt = pick(r, sizes)
    return _choose(r, f, (
        (f"身高{h}体重{w}斤穿什么码", "rec"), (f"{h}cm，{w}斤，{p}拿{f.size}码合适吗", "rec"), (f"{h} {w}斤 选多大的", "rec"),
        (f"我{w}斤，平时穿{f.size}，这款要拍大一码吗", "rec"), (f"{p}尺码偏大还是偏小", "fit"), (f"{p}是标准码吗", "fit"),
        ("有没有尺码表", "chart"), (f"{h}高{w}斤，{alt}会不会紧", "rec"), (f"给我老公买，他{h}cm{w}斤，穿几码", "rec"),
        (f"{f.size}码衣长多少", "chart"), (f"我{w}斤选{f.size}还是{alt}", "rec"), (f"{h}/{w}斤，想穿宽松一点拍几码", "rec"),
        (f"里面要穿毛衣，{f.size}够吗", "fit"), (f"给我妈买，{h}，{w}斤左右，什么码好", "rec"),
        (f"体重{w}斤，身高{h}，{p}推荐什么尺码", "rec"),
    ))


def _ask_stock(r: Rng, f: Facts) -> str:
    p, c = f.product.name, f.color
    s = f.size or ""
    other = pick(r, ("去年那款", "直播间那款", "店里另一款"))
    common = (
        (f"{c}还有货吗", "stock"), (f"{c}{s}有货吗", "stock"), (f"有没有{pick(r, f.product.colors)}的", "stock"),
        (f"{p}是{f.product.material}的吗", "material"), (f"{_it(r, f)}可以机洗吗", "wash"), (f"{c}和图片颜色一样吗", "color"),
        (f"{p}和{other}有什么区别", "diff"), (f"{_it(r, f)}是正品吗", "genuine"), (f"{p}有没有赠品", "gift"),
        (f"{_it(r, f)}重不重", "weight"),
    )
    if f.product.shop != MAIN_SHOP:
        return _choose(r, f, common + ((f"{p}是什么材质", "material"), (f"{_it(r, f)}有没有味道", "smell")))
    return _choose(r, f, common + (
        (f"{s}码什么时候补货", "restock"), (f"{p}是什么面料", "material"), (f"{_it(r, f)}保暖吗", "warm"),
        (f"{pick(r, TEMPS)}度能穿吗", "warm"), (f"{_it(r, f)}会掉色吗", "fade"), (f"{_it(r, f)}会不会起球", "pilling"),
        (f"{_it(r, f)}厚不厚", "thick"),
    ))


def _ask_express(r: Rng, f: Facts) -> str:
    x = pick(r, EXPRESS_ALL[1:])
    return _choose(r, f, (
        ("能发顺丰吗", "sf"), ("发什么快递", "which"), (f"可以指定{x}吗", "which"), ("默认发哪家快递", "which"),
        (f"我这边{x}到不了，能换顺丰吗", "sf"), ("顺丰要补多少钱", "sf"), ("能不能发顺丰到付", "sf"),
        ("加钱发顺丰可以吗", "sf"), (f"可以发{x}吗", "which"), ("偏远地区包邮吗", "remote"), ("新疆能发吗", "remote"),
        ("发邮政可以吗", "which"), (f"{x}太慢了，能换一家吗", "sf"),
    ))


def _ask_coupon(r: Rng, f: Facts) -> str:
    p = f.product.name
    return pick(r, (
        "有优惠券吗", "优惠券怎么用不了", "满减怎么算", "领的券怎么没抵扣", "会员有折扣吗", f"{p}还会降价吗",
        "双十一还会更便宜吗", "可以便宜点吗", "有没有店铺券", "两件有优惠吗", "新人券在哪领", "直播间的价格能给吗",
        f"{p}买两件能打折吗", "满300减30可以和店铺券一起用吗", "学生有优惠吗",
    ))


def _ask_ship_time(r: Rng, f: Facts) -> str:
    when, verb = pick(r, WHEN), pick(r, SHIP_VERBS)
    if f.order_id is None:
        return pick(r, (
            f"现在拍{when}{verb}", f"今天下单今天能{verb.removeprefix('能')}吗", f"{f.product.name}是现货还是预售",
            f"拍了{when}能发出", "预售的要等多久", "周末发货吗", f"{f.color}{f.size}现在拍{when}发",
        ))
    ago = pick(r, TIME_AGO)
    return pick(r, (
        f"{_mine(r, f)}{when}{verb}", f"{ago}拍的{f.product.name}怎么还没发货", f"下单{days_phrase(r, 2, 5)}了还没发货",
        f"{pick(r, URGE)}能不能今天就给我发出去", f"{_mine(r, f)}怎么还没发", f"拍了{f.color}{f.size}的，{when}发",
        f"{_ref(f, '订单号{}，')}{when}{verb}", f"怎么还没发货，{ago}就付款了", "说好48小时发货的呢",
        f"{pick(r, URGE)}{f.product.name}能早点发吗",
    ))


def _ask_where(r: Rng, f: Facts) -> str:
    arrive = pick(r, ("到哪了", "到哪里了", "怎么还没到", "怎么还不到", "几天能到", "派送了吗", "今天能到吗", "什么时候能到"))
    lead = pick(r, ("", "", f"{days_phrase(r, 3, 6)}了，", f"发货{days_phrase(r, 2, 5)}了，", "下单一周了，",
                    _ref(f, "订单号{}，"), _ref(f, "{} ")))
    return pick(r, (
        f"{lead}{_mine(r, f)}{arrive}", f"{lead}快递{arrive}", f"{lead}帮我查下物流", f"{lead}物流{arrive}",
        "显示已签收了我没收到", f"{lead}怎么显示派送中一直没人送", f"{lead}查一下{_mine(r, f)}{arrive}",
        "快递单号是多少", f"{lead}{_mine(r, f)}{arrive}，着急穿",
    ))


def _ask_stuck(r: Rng, f: Facts) -> str:
    n = days_phrase(r, 3, 6)
    city = pick(r, CITIES)
    return pick(r, (
        "快递一直不更新", f"{_mine(r, f)}物流{n}没更新了", f"物流信息{n}没动了", f"快递卡在{city}中转站{n}了",
        f"{f.product.name}发货{n}了物流一直不更新", f"我的快递是不是丢了，{n}没动静", f"物流停在{city}好几天了",
        "怎么物流一直显示已揽收", "快递一直不更新，到底还送不送", f"{n}了物流还是没更新，怎么回事",
        _ref(f, "订单{}") + "物流一直不动",
    ))


def _ask_return(r: Rng, f: Facts) -> str:
    p = f.product.name
    return _choose(r, f, (
        ("怎么退货", "how"), (f"{_it(r, f)}能退吗", "how"), ("支持七天无理由吗", "how"), ("七天无理由怎么申请", "how"),
        ("不合适可以换吗", "exchange"), (f"{p}可以换{f.size or '别的'}码吗", "exchange"), (f"{p}买大了想换小一码", "exchange"),
        (f"颜色不喜欢，能换{pick(r, f.product.colors)}吗", "exchange"), ("换货要多久", "exchange_time"),
        ("退货地址发我一下", "address"), (f"我想退掉{p}", "how"), (f"{p}不想要了怎么退", "how"),
        ("拆了吊牌还能退吗", "tag"), ("穿了一次能退吗", "worn"), ("退货运费谁出", "freight"),
        ("退货要自己寄吗", "pickup"), ("可以上门取件吗", "pickup"),
    ))


def _ask_freight_ins(r: Rng, f: Facts) -> str:
    return pick(r, (
        "有运费险吗", "运费险怎么用", "退货运费能报销吗", "运费险理赔多少钱", "没有运费险退货运费谁承担",
        "运费险怎么还没到账", "我的订单有没有运费险", "退货的运费能退给我吗", "运费险赔多少",
    ))


def _ask_invoice(r: Rng, f: Facts) -> str:
    return pick(r, (
        "能开发票吗", "发票怎么开", "要开增值税专用发票", "发票什么时候能开好", "发票抬头写错了能改吗",
        "电子发票在哪下载", f"公司报销需要发票，抬头{company(r)}，税号{tax_id(r)}", "可以开纸质发票吗",
        "能开公司抬头吗", "发票能不能开办公用品", _ref(f, "订单{}") + "需要开票", "开了发票邮箱没收到",
    ))


def _wrong_colour(r: Rng, f: Facts) -> str:
    others = [c for c in f.product.colors if c != f.color]
    if not others:
        return f"{f.product.name}和图片差别太大"
    return f"收到的是{pick(r, others)}，我拍的是{f.color}"


WASH_ISSUES = {"起球", "缩水", "掉色", "掉毛", "变形"}


def _ask_quality(r: Rng, f: Facts) -> str:
    from analytics.demo.feedback import issue_text

    issue = pick(r, f.product.issues)
    p = f.product.name
    said = issue_text(r, issue)
    when = pick(r, ("洗了一次就", "用了两次就", "才洗一次就")) if issue in WASH_ISSUES else pick(r, ("刚收到，", "刚拆开就", "穿了一天，"))
    return pick(r, (
        f"{p}{said}", f"收到的{p}{said}", f"{when}{said}", f"你们这{p}{said}，怎么回事", f"{said}，能退吗",
        f"{p}质量有问题，{said}", f"{said}，这是正品吗", _wrong_colour(r, f),
        f"{p}有个洞", f"{p}有线头，{said}", f"买的{f.color}{p}{said}，怎么处理",
    ))


def _ask_address(r: Rng, f: Facts) -> str:
    name, phone, addr = person_name(r), mobile(r), address(r)
    f.extras.update(name=name, phone=phone, address=addr)
    return pick(r, (
        "地址写错了能改吗", f"帮我改一下地址：{addr}", f"收件人{name}，电话{phone}，地址{addr}", f"地址改成{addr}",
        f"电话号码写错了，改成{phone}", f"我叫{name}，订单地址写错了，帮我改下", f"收货地址改到{addr}，收件人{name}",
        f"手机号{phone}，地址改为{addr}", "还没发货的话能改地址吗",
    ))


def _ask_refund(r: Rng, f: Facts) -> str:
    n = days_phrase(r, 3, 8)
    return pick(r, (
        "退款什么时候到账", f"退货寄回去{n}了还没退款", "退款怎么还在处理中", "仅退款申请了怎么没人处理", "钱退到哪了",
        f"你们仓库签收{n}了，退款呢", _ref(f, "订单{}") + "退款进度查一下", "退款被拒绝了为什么", "退款能快点吗",
    ))


def _ask_price_protect(r: Rng, f: Facts) -> str:
    n = r.choice((10, 20, 30, 40, 50, 60, 80, 100))
    p = f.product.name
    return pick(r, (
        "刚买就降价了能补差价吗", f"{p}降了{n}块能退差价吗", f"我{pick(r, TIME_AGO)}买的，现在便宜了{n}", "价保多少天",
        "能补差价吗", f"直播间比我买的便宜{n}", f"{p}现在活动价便宜了{n}，差价怎么算",
    ))


def _ask_service(r: Rng, f: Facts) -> str:
    return pick(r, (
        "怎么一直没人回复", "你们客服太慢了", "上一个客服说给我处理，结果没下文", "再不处理我就投诉了", "我要投诉",
        "态度太差了", "问了三遍了没人管", "客服怎么不说话", "昨天的问题到现在也没人回", "能不能找个能处理问题的人",
    ))


ASKERS = {
    T.SIZE: _ask_size, T.STOCK: _ask_stock, T.EXPRESS: _ask_express, T.COUPON: _ask_coupon,
    T.SHIP_TIME: _ask_ship_time, T.WHERE: _ask_where, T.STUCK: _ask_stuck, T.RETURN: _ask_return,
    T.FREIGHT_INS: _ask_freight_ins, T.INVOICE: _ask_invoice, T.QUALITY: _ask_quality, T.ADDRESS: _ask_address,
    T.REFUND: _ask_refund, T.PRICE_PROTECT: _ask_price_protect, T.SERVICE: _ask_service,
}
STATEMENT_TOPICS = {T.QUALITY, T.STUCK, T.SERVICE}
PARTICLES = "吗呢么啊嘛吧呀"
PLAIN_ENDINGS = ("？", "？", "?", "", "", "。", "？？")


def question(r: Rng, f: Facts) -> str:
    """The customer's opening question about ``f.topic``, framed and roughened."""
    core = ASKERS[f.topic](r, f)
    if core[-1] in "？?！!。":
        ending = ""
    elif core[-1] in PARTICLES:
        ending = pick(r, PLAIN_ENDINGS)
    else:
        ending = pick(r, ENDINGS_S if f.topic in STATEMENT_TOPICS else ENDINGS_Q)
    text = pick(r, OPENERS) + core + (pick(r, ASK_TAILS) if ending == "" else ending)
    return colloquial(r, text)


GREETINGS = ("在吗", "在吗？", "在不在", "有人吗", "客服在吗", "你好", "您好", "hi", "亲在吗", "在？", "人呢")


def hello(r: Rng) -> str:
    return pick(r, GREETINGS)


def nudge(r: Rng, f: Facts) -> str:
    """A second message the customer sends before the agent has answered."""
    return pick(r, (
        "？", "在吗", "人呢", "有人吗？", "快点回复一下", _ref(f, "订单号{}") or "急",
        "麻烦看一下", "等了好久了", "客服？",
    ))


def followup(r: Rng, f: Facts) -> tuple[str, str]:
    """A later customer turn (a detail, a doubt or a second question on the same topic) and the kind of answer it
    needs (see ``replies.followup_answer``)."""
    t, oid = f.topic, _ref(f, "订单号是{}")
    if t == T.SIZE:
        options = ((f"那{f.size}会不会大", "size"), ("好的那我拍了", "ok"), ("衣长到哪里", "chart"), ("袖子长吗", "chart"),
                   ("我肩膀比较宽", "size"), ("胖一点的穿着显胖吗", "size"))
    elif t in (T.WHERE, T.STUCK):
        options = ((oid or "那大概还要几天", "track"), ("那大概还要几天", "track"), ("能帮我催一下吗", "urge"),
                   ("明天能到吗", "track"), ("收件人电话" + mobile(r), "note"), ("我要出差了，能放驿站吗", "note"),
                   ("快递员电话多少", "note"))
    elif t in (T.RETURN, T.FREIGHT_INS, T.REFUND):
        options = (("退回的地址是哪里", "return_addr"), ("寄什么快递", "return_addr"), ("要写原因吗", "return_reason"),
                   ("多久能退款", "refund_time"), (oid or "多久能退款", "refund_time"),
                   ("我已经寄出了，单号" + f.tracking, "refund_time"), ("运费我先垫付吗", "freight"))
    elif t == T.INVOICE:
        options = ((f"抬头{company(r)}，税号{tax_id(r)}", "invoice"), (f"邮箱是{r.randint(10**7, 10**9)}@qq.com", "invoice"),
                   ("个人抬头就行", "invoice"), ("能开明细吗", "invoice"))
    elif t == T.ADDRESS:
        options = ((f"收件人{person_name(r)}", "address"), (f"电话{mobile(r)}", "address"), ("改好了吗", "address"),
                   (f"门牌号是{r.randint(101, 2806)}", "address"))
    elif t == T.QUALITY:
        options = (("照片发你了", "photo"), ("[图片]", "photo"), ("[图片][图片]", "photo"), ("那给我换一件吧", "exchange"),
                   ("我要退货", "quality_return"), ("能补偿点吗", "compensate"), ("运费谁出", "freight_quality"))
    elif t in (T.COUPON, T.PRICE_PROTECT):
        options = (("券在哪领", "coupon"), ("差价退到哪", "price"), ("那我现在拍", "ok"),
                   ("怎么申请", "price" if t == T.PRICE_PROTECT else "coupon"))
        options += ((oid, "price"),) if oid and t == T.PRICE_PROTECT else ()
    elif t == T.SHIP_TIME:
        options = (("能加急吗", "rush"), ("今天一定要发啊", "rush"), ("发什么快递", "express"), (oid or "能快点吗", "rush"))
    else:
        options = (("还有别的颜色吗", "colors"), ("好的那我考虑下", "ok"), ("那我下单了", "ok"), ("包邮吗", "postage"),
                   ("有赠品吗", "gift"), ("能便宜点吗", "coupon"))
    text, kind = options[int(r.random() * len(options))]
    return colloquial(r, text), kind


THANKS = ("好的谢谢", "谢谢亲", "好的，麻烦了", "明白了，谢谢", "ok", "好滴", "收到，感谢", "行，谢谢啦", "好的知道了",
          "谢谢你，态度很好", "哦哦好的", "好的谢谢🙏", "嗯嗯，谢谢", "太好了，谢谢", "好的亲，辛苦了", "感谢耐心解答",
          "好的，那我等着", "可以可以，谢谢", "OK谢谢", "好嘞")
UNHAPPY = ("算了", "那我还是退了吧", "行吧", "什么破服务", "那我等等看吧", "你们这效率也太低了", "每次都这么说",
           "说了等于没说", "那还要等多久啊", "太失望了", "真的很无语", "我已经等了一周了", "再不解决我就投诉了",
           "麻烦尽快处理一下，已经等了好几天了", "不是很满意")


def closing(r: Rng, f: Facts) -> str:
    text = pick(r, THANKS) if f.resolved else pick(r, UNHAPPY)
    return colloquial(r, text + maybe(r, 0.2, pick(r, ENDINGS_S)))
