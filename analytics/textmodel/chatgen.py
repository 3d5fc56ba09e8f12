"""Seeded generator of labelled customer-service chat lines (training data only).

The public review corpora have no neutral class, no questions and no chat register,
so the training script adds lines built here from templates and slot fillers written
for csbot: neutral questions/requests/acknowledgements, thanks and praise, and
complaints (waiting, defects, service, refunds, prices, invoices; direct, polite,
negated-praise and sarcastic forms).  Every complaint carries its reason category, so
the same lines train the complaint model.  The held-out evaluation sets under
``bench/text/data`` are hand-written separately and never produced by this module.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from dataclasses import dataclass

PRODUCTS = ("衣服 裤子 鞋子 外套 连衣裙 羽绒服 T恤 手机 耳机 充电器 数据线 平板 笔记本 键盘 鼠标 台灯 电饭煲 "
            "空气炸锅 吹风机 电动牙刷 洗发水 面霜 口红 面膜 零食 坚果 水果 牛奶 茶叶 奶粉 纸尿裤 床单 枕头 "
            "被子 沙发 椅子 书 玩具 保温杯 行李箱 背包 手表 猫粮 狗粮 洗衣液 扫地机 净水器 空调 冰箱").split()
REFS = ("这个", "这款", "这件", "那个", "你们家的{p}", "这个{p}", "这款{p}", "{p}", "我买的{p}", "链接里的{p}")
COLORS = "黑色 白色 灰色 红色 蓝色 粉色 卡其色 大号 小号 XL S码 M码 L码 42码 加厚款".split()
CITIES = "北京 上海 广州 深圳 成都 重庆 杭州 武汉 西安 南京 哈尔滨 乌鲁木齐 拉萨 昆明 三亚 郑州 长沙 天津".split()
COURIERS = "顺丰 圆通 中通 申通 韵达 京东快递 邮政 极兔 EMS".split()
DURS = "两天 三天 四天 五天 一周 一个星期 十天 半个月 二十天 一个月 好几天 两个星期 48小时 一整天 三个小时".split()
WHO = "老人 小孩 孕妇 学生 男生 女生 敏感肌 宝宝 上班族".split()
GREET = ("", "", "", "你好，", "您好，", "亲，", "在吗，", "请问", "请问一下，", "问一下，", "咨询一下，",
         "麻烦问下，", "客服你好，", "hello，", "老板，")
QEND = ("", "", "？", "?", "呢", "呀？", "啊")

NEU_Q = (
    "{r}有{c}的吗", "{r}是什么材质的", "{r}有几个颜色", "{r}多大尺寸", "{r}重不重", "{r}是正品吗", "{r}保修多久",
    "{r}还有货吗", "{r}什么时候补货", "{r}和那款有什么区别", "{r}适合{w}用吗", "{r}怎么用", "{r}怎么安装",
    "{r}需要充电吗", "{r}保质期多久", "{r}是哪里产的", "{r}有赠品吗", "{r}多少钱", "{r}可以用优惠券吗",
    "{r}能机洗吗", "{r}有说明书吗", "{r}是新款吗", "{r}会不会缩水", "{r}一套有几个", "{r}是现货吗",
    "我身高{h}体重{kg}斤穿什么码", "{r}偏大还是偏小", "今天能发货吗", "什么时候发货", "发什么快递", "几天能到{city}",
    "能发{k}吗", "{city}包邮吗", "到{city}要几天", "物流到哪了", "可以改地址吗", "可以放快递柜吗", "快递单号是多少",
    "能加急吗", "我的快递到哪了", "下午下单今天能发吗", "怎么退货", "可以退吗", "退货运费谁出", "退款多久到账",
    "怎么申请售后", "换货流程是什么", "拆封了还能退吗", "退款退到哪里", "我想换个{c}可以吗", "{r}不合适可以换吗",
    "能开发票吗", "发票怎么开", "可以开专票吗", "发票抬头怎么改", "电子发票在哪看", "发票会随货寄吗",
    "可以用花呗吗", "能分期吗", "怎么付款", "付款失败怎么办", "优惠券怎么用", "满减怎么算", "有没有优惠",
    "怎么改手机号", "会员怎么开通", "积分怎么用", "能便宜点吗", "买两件有优惠吗", "价保怎么申请",
    "降价了能退差价吗", "退款申请提交了，多久审核", "订单为什么显示待发货", "怎么查物流", "退货地址是哪里",
    "可以送货上门吗", "安装收费吗", "有线下门店吗", "可以自提吗", "客服几点下班", "周末发货吗",
    "我的退款到哪一步了", "为什么我领不了券", "怎么取消订单", "可以修改订单吗", "订单号在哪里看",
)
NEU_S = (
    "我已经付款了", "我已经下单了", "我已经寄回去了", "我已经申请退款了", "我已经提交售后了", "单号我填好了",
    "我已经确认收货了", "订单号发你了", "截图发你了", "我想退货", "我想换货", "我想取消订单", "我想改一下地址",
    "我要开发票", "我想换个颜色", "我想再加一件", "帮我改成{k}", "帮我备注一下", "帮我查一下订单",
    "好的", "嗯", "嗯嗯", "收到", "知道了", "明白", "行", "可以", "好", "ok", "OK", "好的我等一下", "我看看",
    "稍等", "那我先下单了", "我再考虑一下", "在吗", "你好", "您好", "有人吗", "转人工", "人工", "人工客服",
    "那好吧", "好的，我知道了", "没事了", "没有了", "暂时没有问题了", "那就这样", "我问一下家里人",
    "我是昨天下单的", "我是上周买的", "我在{city}", "地址是{city}的", "发票抬头是公司名称", "收件人写我妈妈",
    "我再看看别的款", "我先去试一下", "等我回家看看", "我明天再来问", "这个我要了", "给我来两个",
)
POS = (
    "谢谢", "谢谢亲", "谢谢你", "感谢", "多谢", "辛苦了", "辛苦啦", "麻烦你了，谢谢", "好的，谢谢", "好的谢谢亲",
    "问题解决了，谢谢", "已经解决了，感谢", "退款收到了，谢谢", "换的{p}收到了，很好", "补发的收到了，谢谢",
    "发票收到了，谢谢", "{a}{adv}{g}", "{a}{adv}{g}，{a2}也{adv}{g2}", "{p}收到了，{a}{adv}{g}",
    "下次还来", "会推荐给朋友的", "五星好评", "好评", "给你们点赞", "非常满意", "很满意", "挺满意的",
    "收到了，没问题，谢谢", "用着没什么问题，挺好的", "谢谢你的耐心解答", "谢谢你这么快处理", "太感谢了",
    "客服{adv}耐心，谢谢", "服务{adv}好，感谢", "东西{adv}好，下次还买", "比想象的好", "物超所值",
    "{p}{adv}好用", "{p}{adv}喜欢", "效果{adv}明显", "真不错", "满分", "很赞", "爱了爱了", "真心推荐",
)
ASPECT_GOOD = {
    "质量": "好 棒 不错 过硬", "做工": "精细 好 不错", "物流": "快 给力 神速", "发货": "快 及时 迅速",
    "客服": "耐心 专业 贴心 好", "服务": "好 周到 贴心 到位", "包装": "严实 精美 用心 好", "味道": "好 正宗 不错",
    "效果": "好 明显 不错", "颜色": "正 好看 漂亮", "尺码": "合适 准 标准", "价格": "实惠 划算 便宜",
    "售后": "好 靠谱 给力", "安装师傅": "专业 认真 负责",
}
ADV = ("很", "非常", "特别", "超级", "挺", "真的很", "太", "相当")

# Complaints: (category, template)
NEG = (
    ("物流", "{d}了还没发货"), ("物流", "都{d}了怎么还没发货"), ("物流", "等了{d}了，快递还没到"),
    ("物流", "物流{d}没更新了"), ("物流", "承诺当天发货，{d}过去了还是没发"), ("物流", "快递一直显示派送中，人没来"),
    ("物流", "没收到货就显示签收了"), ("物流", "快递员直接放门口，东西丢了"), ("物流", "为什么{d}了还没发货"),
    ("物流", "到底什么时候发货"), ("物流", "{k}太慢了"), ("物流", "快递员态度很差，不送上楼"), ("物流", "发错地址了"),
    ("物流", "说好发{k}，结果发的别的"), ("物流", "我的快递是不是丢了，{d}没动了"), ("物流", "外卖送了两个小时，都凉了"),
    ("物流", "包装破了，东西撒了一箱子"), ("物流", "少发了一件"), ("物流", "发错货了，我要的是{c}"),
    ("质量", "{p}{defect}"), ("质量", "收到的{p}{defect}"), ("质量", "{p}用了{d}就{defect2}"),
    ("质量", "{p}质量太差了"), ("质量", "{p}和图片完全不一样"), ("质量", "做工太粗糙了"), ("质量", "是假货吧"),
    ("质量", "{p}有股怪味"), ("质量", "{p}尺码严重不准"), ("质量", "{p}颜色差太多了"), ("质量", "收到的是旧的"),
    ("服务态度", "客服{badsvc}"), ("服务态度", "你们客服{badsvc}"), ("服务态度", "问了{n}遍都没人回"),
    ("服务态度", "什么态度啊"), ("服务态度", "一直敷衍我"), ("服务态度", "客服是机器人吧，答非所问"),
    ("服务态度", "说好回电话，一直没打"), ("服务态度", "推来推去，没人管"), ("服务态度", "客服说话太冲了"),
    ("退款售后", "退款{d}了还没到账"), ("退款售后", "商家签收退货{d}了，还不退钱"), ("退款售后", "为什么不给我退款"),
    ("退款售后", "申请售后{d}了没人处理"), ("退款售后", "凭什么不给退"), ("退款售后", "换了新的还是有问题，售后也不管"),
    ("退款售后", "维修{d}了还没修好"), ("退款售后", "售后一直拖着不处理"), ("退款售后", "退款申请被驳回了，太不合理"),
    ("退款售后", "七天无理由都不让退"), ("退款售后", "上门取件一直没人来"), ("退款售后", "到底什么时候退款"),
    ("价格优惠", "刚买就降价了"), ("价格优惠", "买完就降价，也不给保价"), ("价格优惠", "优惠券用不了"),
    ("价格优惠", "满减没算上，多收了钱"), ("价格优惠", "说好的赠品没给"), ("价格优惠", "比别家贵了不少"),
    ("价格优惠", "好评返现一直没返"), ("价格优惠", "先涨价再打折，套路"), ("价格优惠", "多收了我运费"),
    ("发票", "发票{d}了还没开"), ("发票", "发票开错了，报销不了"), ("发票", "一直不给开发票"),
    ("发票", "发票抬头错了"), ("发票", "说好随货寄发票，没收到"), ("发票", "开发票还要加钱，不合理"),
    ("其他", "太失望了"), ("其他", "我要投诉"), ("其他", "再也不买了"), ("其他", "差评"), ("其他", "坑人"),
    ("其他", "真是无语了"), ("其他", "气死我了"), ("其他", "这次体验太差了"), ("其他", "不推荐"),
)
DEFECT = ("是坏的", "有裂痕", "开线了", "掉色", "有异味", "不能用", "充不进电", "漏水", "有划痕", "过期了",
          "是破的", "少了个零件", "有污渍", "一直死机", "没声音", "屏幕有坏点", "拉链坏了")
DEFECT2 = ("坏了", "开线了", "掉色了", "不能用了", "充不进电了", "开胶了", "起球了", "裂了")
BAD_SVC = ("态度太差", "不理人", "答非所问", "一直敷衍", "说话很冲", "爱答不理", "太不专业了", "没有耐心")
NEG_PRAISE = ("不是特别满意", "不太满意", "不怎么好用", "一点都不好用", "并不好吃", "没那么好", "没有想象中好",
              "不太合适", "不怎么样", "一点也不舒服", "不值这个价", "不太好看", "没觉得好用", "算不上好")
POLITE_OPEN = ("麻烦", "辛苦", "请", "能不能", "希望", "亲，麻烦", "不好意思，麻烦", "您好，麻烦", "拜托")
POLITE_ASK = ("尽快处理一下", "帮我催一下", "给个说法", "快点发货", "帮我查查", "尽快退款", "重视一下",
              "尽快给我解决", "快点处理")
POLITE_WHY = ("已经等了{d}了", "这是第{o}次问了", "一直没有消息", "我急着用", "都{d}了还没动静",
              "我已经问过好几次了", "拖了{d}了")
SARCASM = ("呵呵，真是好服务", "真棒，又坏了", "感谢你们，让我足足等了{d}", "真行啊你们，{d}了连个单号都没有",
           "这就是你们说的当天发？{d}了", "真是太感谢了，第{o}次收到坏的", "呵呵，你们的售后真厉害",
           "服务真好啊，问了{n}遍没人理", "这速度，真是佩服", "厉害了，买完就降价")
POLITE_CATEGORY = {"发货": "物流", "退款": "退款售后", "催": "物流"}
NUMS = "两 三 四 五 好几".split()


@dataclass(frozen=True)
class ChatLine:
    text: str
    label: str  # pos / neu / neg
    category: str | None = None  # complaint reason for neg lines


class _Filler:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def pick(self, seq):
        return self.rng.choice(seq)

    def fill(self, template: str) -> str:
        def slot(m: re.Match[str]) -> str:
            key = m.group(1)
            p = self.pick(PRODUCTS)
            if key == "r":
                return self.pick(REFS).format(p=p)
            aspect = self.pick(sorted(ASPECT_GOOD))
            return {
                "p": p, "c": self.pick(COLORS), "w": self.pick(WHO), "city": self.pick(CITIES),
                "k": self.pick(COURIERS), "d": self.pick(DURS), "n": self.pick(NUMS),
                "o": self.pick(("二", "三", "四", "五", "N")),
                "h": str(self.rng.randint(150, 190)), "kg": str(self.rng.randint(80, 180)),
                "adv": self.pick(ADV), "a": aspect, "g": self.pick(ASPECT_GOOD[aspect].split()),
                "a2": aspect, "g2": self.pick(ASPECT_GOOD[aspect].split()),
                "defect": self.pick(DEFECT), "defect2": self.pick(DEFECT2), "badsvc": self.pick(BAD_SVC),
            }[key]

        return re.sub(r"\{(\w+)\}", slot, template)


def _neutral(f: _Filler) -> str:
    if f.rng.random() < 0.6:
        q = f.fill(f.pick(NEU_Q))
        return f.pick(GREET) + q + ("" if q.endswith(("吗", "?", "？")) else f.pick(QEND))
    return f.fill(f.pick(NEU_S))


def _negative(f: _Filler) -> tuple[str, str]:
    r = f.rng.random()
    if r < 0.55:
        cat, tpl = f.pick(NEG)
        text = f.fill(tpl)
        if f.rng.random() < 0.3:
            text = f.pick(("亲，", "你好，", "客服，", "请问", "")) + text + f.pick(("", "！", "。", "？", "，怎么回事"))
        return text, cat
    if r < 0.75:
        ask = f.pick(POLITE_ASK)
        cat = next((c for k, c in POLITE_CATEGORY.items() if k in ask), "其他")
        return f.pick(POLITE_OPEN) + ask + "，" + f.fill(f.pick(POLITE_WHY)), cat
    if r < 0.9:
        text = f.pick(NEG_PRAISE)
        if f.rng.random() < 0.5:
            text = f.fill(f.pick(("{p}", "这次买的{p}", "收到的{p}", "用了{d}，"))) + text
        return text, "质量"
    return f.fill(f.pick(SARCASM)), "其他"


def generate(n: int, seed: int = 20261125, mix: tuple[float, float, float] = (0.45, 0.2, 0.35)) -> list[ChatLine]:
    """``n`` distinct lines, about ``mix`` = (neu, pos, neg) shares, deterministic for a seed."""
    rng = random.Random(seed)
    f = _Filler(rng)
    seen: set[str] = set()
    out: list[ChatLine] = []
    attempts = 0
    while len(out) < n and attempts < n * 50:
        attempts += 1
        r = rng.random()
        if r < mix[0]:
            line = ChatLine(_neutral(f), "neu")
        elif r < mix[0] + mix[1]:
            line = ChatLine(f.fill(f.pick(POS)) + f.pick(("", "", "！", "~", "。", "哈")), "pos")
        else:
            text, cat = _negative(f)
            line = ChatLine(text, "neg", cat)
        if line.text not in seen:
            seen.add(line.text)
            out.append(line)
    return out


def iter_complaints(lines: list[ChatLine]) -> Iterator[tuple[str, str]]:
    """(text, category) for the negative lines."""
    return ((ln.text, ln.category) for ln in lines if ln.label == "neg" and ln.category)
