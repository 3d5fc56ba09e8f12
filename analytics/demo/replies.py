"""Agent and bot turns. Agents state the same facts every time (48小时发货, 顺丰补10元, 七天无理由, 价保15天 …) in a
few paraphrases, so FAQ mining finds one consistent candidate answer per question."""

from __future__ import annotations

import random

from analytics.demo import topics as T
from analytics.demo.phrases import pick, recommended_size
from analytics.demo.topics import Facts

Rng = random.Random

PREFIX = ("亲，", "亲，", "您好，", "亲亲，", "亲爱的，", "", "您好呀，", "亲~ ")
SUFFIX = ("", "", "～", "哦", "[微笑]", "呢")
CLOSERS = ("", "", "", "还有其他可以帮您的吗？", "有问题随时联系我哦～", "祝您购物愉快～", "请问还有什么需要帮助的吗？")


def _wrap(r: Rng, core: str, closer: bool = True) -> str:
    tail = pick(r, CLOSERS) if closer else ""
    prefix = "" if "亲" in core[:4] or core.startswith("抱歉") else pick(r, PREFIX)
    suffix = "" if core[-1] in "。！？～" else pick(r, SUFFIX)
    return prefix + core + suffix + (" " + tail if tail else "")


def _size(r: Rng, f: Facts) -> str:
    sizes = f.product.sizes
    if not sizes:
        return _stock(r, f)
    if sizes[0] == "36":
        return pick(r, ("这款雪地靴偏小半码，建议拍大一码哦", "这款鞋码偏小，平时穿38的建议拍39，脚背高的再大一码"))
    if "米床" in sizes[0]:
        return pick(r, ("1.5米床选1.5米规格，1.8米床选1.8米规格，被套是200×230cm", "按床宽选就可以，1.8米床对应被套200×230cm"))
    if sizes[0].isdigit():
        waist = max(26, min(32, (f.weight - 80) // 8 + 25))
        return pick(r, (f"根据您的身高体重，建议拍{waist}码，这款是中腰弹力款", f"建议{waist}码哦，面料有弹力，不会紧"))
    if sizes[0] in ("单人", "350ml", "1.5×2米"):
        return f"{f.product.name}有{'、'.join(sizes)}两个规格，按需要选就可以"
    rec = recommended_size(f.height, f.weight)
    note = {"羽绒服": "这款版型偏小，里面要穿厚毛衣的可以拍大一码", "羊毛衫": "羊毛衫是修身款，喜欢宽松的拍大一码",
            "加绒卫衣": "卫衣是宽松版型，按平时尺码拍就行", "冲锋衣": "冲锋衣是标准码"}.get(f.product.name, "这款是标准码")
    kind = f.extras.get("ask")
    if kind == "fit":
        return note
    if kind == "chart":
        return "详情页有尺码表，衣长、胸围、袖长都标了，可以对照平时穿的衣服选"
    return pick(r, (f"根据您的身高体重，建议拍{rec}码，{note}", f"您这个身高体重建议选{rec}码哦，{note}",
                    f"推荐{rec}码，{note}，详情页有尺码表可以参考"))


_STOCK_ANSWERS = {
    "restock": "{size}码预计下周补货，可以先收藏加购，补货后提醒您",
    "material": "{name}是{material}的，质量有保证",
    "warm": "{name}用的是{material}，保暖效果很好，零下10度左右日常穿没问题",
    "wash": "建议手洗或者装洗衣袋轻柔机洗，不要暴晒",
    "fade": "第一次洗会有少量浮色，属于正常现象，建议冷水单独洗",
    "color": "实物是自然光下拍摄的，显示器不同可能有轻微色差，整体和图片一致",
    "pilling": "{name}做过抗起球处理，正常穿着不会明显起球",
    "diff": "这款是今年的新款，用的是{material}，比之前的更保暖",
    "genuine": "店铺所有商品都是品牌正品，支持专柜验货",
    "gift": "现在下单送运费险，满300还送收纳袋",
    "weight": "{name}很轻便，没什么负重感",
    "thick": "{name}是加厚款，冬天用正合适",
    "smell": "{name}出厂前都做过除味处理，刚拆开有轻微味道的话通风一两天就好",
}


def _stock(r: Rng, f: Facts) -> str:
    p = f.product
    template = _STOCK_ANSWERS.get(f.extras.get("ask", "stock"))
    if template is not None:
        return template.format(name=p.name, material=p.material, size=f.size or "这个")
    return pick(r, (f"{f.color}目前有现货的，可以放心拍", f"{f.color}{f.size}现在有货，付款后48小时内发货"))


def _express(r: Rng, f: Facts) -> str:
    if f.extras.get("ask") == "remote":
        return "新疆、西藏等偏远地区不包邮，需要补运费差价"
    if f.channel == "京东":
        return pick(r, ("京东店铺默认京东物流发货，一般1-3天送达", "我们京东店是京东物流配送的，不需要额外加钱"))
    return pick(r, ("默认发中通或圆通，需要顺丰的话补10元邮费差价就可以", "我们默认中通/圆通，顺丰需要补10元运费差价",
                    "可以发顺丰的，拍下后补10元顺丰差价，备注顺丰即可"))


def _coupon(r: Rng, f: Facts) -> str:
    return pick(r, ("店铺首页可以领满300减30的券，可以和平台券叠加使用", "首页领取满300减30店铺券，下单时会自动抵扣",
                    "现在有满300减30的店铺券，在首页领取就行，和平台券可以叠加"))


def _ship_time(r: Rng, f: Facts) -> str:
    if f.promo:
        return pick(r, ("大促期间订单量比较大，预计3-5天内发出，请您耐心等待", "活动期间按付款顺序发货，3-5天内都会发出的"))
    return pick(r, ("现货付款后48小时内发货，预售款按商品页标注的时间发货", "付款后48小时内发出，16点前付款的当天就发",
                    "现货48小时内发货，您的订单已经在排单了", "一般付款后48小时内发货，预售的按页面时间发"))


def _where(r: Rng, f: Facts) -> str:
    return pick(r, (f"帮您查了，包裹已到{f.city}转运中心，预计1-2天送达，单号{f.tracking}",
                    f"您的快递是{f.express}，单号{f.tracking}，目前在{f.city}，预计明后天送到",
                    f"物流显示已到{f.city}，正在派送途中，单号{f.tracking}，请留意电话"))


def _stuck(r: Rng, f: Facts) -> str:
    return pick(r, (f"非常抱歉，已经联系{f.express}核实，24小时内给您回复，超过3天不更新我们给您补发",
                    f"抱歉让您久等了，{f.express}那边中转站爆仓，已经帮您催件，24小时内没有更新给您补发",
                    f"这边已经给{f.express}提交了催件工单，24小时内答复您，确认丢件的话直接补发"))


_RETURN_ANSWERS = {
    "exchange": "可以换的，在订单页申请换货，选好新的尺码或颜色就行，七天内都可以",
    "exchange_time": "仓库签收退回的商品后48小时内寄出换货商品",
    "address": "在订单页申请退货后系统会给出退货地址，选上门取件就行",
    "tag": "吊牌剪了就不支持七天无理由了，质量问题除外",
    "worn": "穿过、洗过影响二次销售的不支持七天无理由，质量问题可以退",
    "pickup": "可以的，申请退货时选上门取件，快递员会上门，不用自己寄",
}


def _return(r: Rng, f: Facts) -> str:
    kind = f.extras.get("ask")
    if kind == "freight":
        return _freight_ins(r, f)
    if kind in _RETURN_ANSWERS:
        return _RETURN_ANSWERS[kind]
    return pick(r, ("支持七天无理由退换货，吊牌完好、不影响二次销售就可以，在订单页申请退货就行",
                    "收到货7天内都可以无理由退换，吊牌不要剪，订单页点申请退货，选上门取件就可以",
                    "七天无理由退换的，在订单详情页申请退换货，仓库签收后48小时内处理"))


def _freight_ins(r: Rng, f: Facts) -> str:
    if f.channel in ("官网", "京东"):
        return "质量问题的退货运费由我们承担，非质量问题需要您承担寄回运费"
    return pick(r, ("下单默认赠送运费险，退货签收后72小时内自动理赔到您的支付账户",
                    "订单有运费险的，退货时选上门取件，签收后72小时内运费险自动理赔"))


def _invoice(r: Rng, f: Facts) -> str:
    return pick(r, ("可以开电子发票，确认收货后在订单详情页申请开票，1-3个工作日发到您的邮箱",
                    "确认收货后在订单页点申请开票，填写抬头和税号，电子发票1-3个工作日开好",
                    "专票需要提供抬头、税号、地址电话和开户行，确认收货后1-3个工作日开具"))


def _quality(r: Rng, f: Facts) -> str:
    return pick(r, ("非常抱歉给您带来不好的体验，麻烦您拍几张照片发给我，核实后给您换新或退货，运费我们承担",
                    "真的很抱歉，麻烦提供一下问题部位的照片，确认是质量问题给您换新或者退款，来回运费我们出",
                    "抱歉亲，质量问题我们包退换，您拍照片发过来，核实后马上给您处理"))


def _address(r: Rng, f: Facts) -> str:
    if f.resolved:
        return pick(r, ("还没发货，已经帮您改好了，请核对一下", "地址已经修改好了，您核对一下收件信息"))
    return pick(r, ("订单已经发出了，需要您联系快递改派", "包裹已经发货了没法修改，您可以联系快递员转寄"))


def _refund(r: Rng, f: Facts) -> str:
    return pick(r, ("退货仓库签收后1-2个工作日内审核退款，原路退回，请您留意",
                    "仓库签收后1-2个工作日审核，审核通过后原路退回，银行卡1-3天到账",
                    "已经帮您加急了，签收后1-2个工作日内退款，原路返回"))


def _price_protect(r: Rng, f: Facts) -> str:
    return pick(r, ("我们支持15天价保，您提供订单号我这边帮您申请补差价，差价原路退回",
                    "下单15天内降价可以补差价，把订单号发我，帮您登记", "15天内价保的，这边帮您申请差价，1-2天原路退回"))


def _service(r: Rng, f: Facts) -> str:
    return pick(r, ("非常抱歉让您久等了，现在咨询量比较大，这边马上为您处理", "抱歉亲，刚刚消息太多没及时回复，您的问题我来跟进",
                    "实在抱歉，之前的问题我已经看到了，马上帮您加急处理"))


ANSWERS = {
    T.SIZE: _size, T.STOCK: _stock, T.EXPRESS: _express, T.COUPON: _coupon, T.SHIP_TIME: _ship_time,
    T.WHERE: _where, T.STUCK: _stuck, T.RETURN: _return, T.FREIGHT_INS: _freight_ins, T.INVOICE: _invoice,
    T.QUALITY: _quality, T.ADDRESS: _address, T.REFUND: _refund, T.PRICE_PROTECT: _price_protect,
    T.SERVICE: _service,
}


def answer(r: Rng, f: Facts) -> str:
    """The agent's answer to the opening question."""
    return _wrap(r, ANSWERS[f.topic](r, f), closer=False)


def welcome(r: Rng) -> str:
    return pick(r, ("在的亲，请问有什么可以帮您？", "您好，在的，请问有什么可以帮您", "亲，在的呢，您说", "在的，您请讲～",
                    "您好，我是客服，很高兴为您服务"))


def ask_order(r: Rng) -> str:
    return pick(r, ("麻烦提供一下订单号，这边帮您查询", "亲，方便发一下订单号吗", "您好，请提供下订单号哦"))


def followup_answer(r: Rng, f: Facts, kind: str) -> str:
    """The agent's answer to a follow-up of ``kind`` (see ``customer.followup``): the same facts as always."""
    p = f.product
    fixed = {
        "size": f"按您的身材{recommended_size(f.height, f.weight)}码合适，喜欢宽松的可以大一码",
        "chart": "衣长和袖长详情页尺码表都有，可以对照一下",
        "ok": pick(r, ("好的亲，有需要随时联系我", "好的，感谢支持")),
        "track": f"{f.express}单号{f.tracking}，目前在{f.city}，预计1-2天送达",
        "urge": "已经帮您催件了，24小时内给您回复",
        "note": "已经帮您备注了，快递员派送前会电话联系您",
        "return_addr": "在订单页申请退货后系统会给出退货地址，选上门取件就行",
        "return_reason": "选七天无理由就可以，不影响退款",
        "refund_time": "仓库签收后1-2个工作日内审核退款，原路退回",
        "invoice": "好的，已经帮您登记开票，1-3个工作日发到邮箱",
        "address": "收到，已经帮您修改好了",
        "photo": "收到照片了，确认是质量问题，给您换新或者退款都可以，运费我们承担",
        "exchange": "已经给您登记换新，新的48小时内发出，旧的快递员上门取件",
        "quality_return": "已经为您申请了退货退款，快递员会上门取件，运费我们承担",
        "compensate": "给您申请了20元无门槛补偿券，已经发到您的账户",
        "freight_quality": "质量问题来回运费都由我们承担",
        "price": "已经帮您登记补差价，1-2天原路退回",
        "rush": "已经帮您备注加急了，今天会尽量发出",
        "colors": f"{p.name}有{'、'.join(p.colors)}可选",
        "postage": "全场包邮的，新疆西藏等偏远地区除外",
        "gift": "现在下单送运费险，满300还送收纳袋",
    }
    if kind in fixed:
        return _wrap(r, fixed[kind])
    by_topic = {"freight": _freight_ins, "coupon": _coupon, "express": _express}
    return _wrap(r, by_topic[kind](r, f))


def goodbye(r: Rng, f: Facts) -> str:
    if f.resolved:
        return pick(r, ("不客气，祝您生活愉快～", "应该的亲，有问题随时找我哦", "不客气哦，收到货满意的话麻烦给个好评～",
                        "不客气，感谢您的支持！", "好的亲，不客气～"))
    return pick(r, ("非常抱歉给您带来不便，我们会尽快跟进处理", "理解您的心情，已经给您加急处理了，有进展第一时间联系您",
                    "抱歉亲，这边已经记录了，会有专员跟进"))


def transfer(r: Rng, f: Facts) -> str:
    if f.topic in T.POST_SALE and f.order_id:
        return pick(r, ("这个问题需要售后专员处理，这边帮您转接一下，请稍等哦", "亲，我帮您转接到售后同事，他们会为您处理",
                        "这边为您转接专属售后，请稍候"))
    return pick(r, ("这边帮您转接专属客服，请稍等哦", "亲，我帮您转给负责这款商品的同事，请稍候"))


def after_transfer(r: Rng, f: Facts) -> str:
    who = "售后专员" if f.topic in T.POST_SALE and f.order_id else "专属客服"
    return f"您好，我是{who}，您的问题我已经了解了，" + ANSWERS[f.topic](r, f)


def bot_greeting(r: Rng, shop: str) -> str:
    return pick(r, (f"您好，欢迎光临{shop}，我是智能助手小暖，请问有什么可以帮您？",
                    f"欢迎来到{shop}～ 人工客服马上为您服务", "您好，小暖为您服务，人工客服稍后就到哦"))


def bot_busy(r: Rng) -> str:
    return pick(r, ("亲，现在咨询人数较多，客服正在快马加鞭赶来，请稍等~", "当前排队人数较多，请您耐心等待，人工客服马上接入"))


def bot_autoreply(r: Rng, f: Facts) -> str | None:
    """A keyword auto-reply for the questions a shop usually configures (None for others)."""
    if f.topic in (T.SHIP_TIME, T.INVOICE, T.RETURN, T.FREIGHT_INS, T.EXPRESS):
        return "【自动回复】" + ANSWERS[f.topic](r, f)
    return None
