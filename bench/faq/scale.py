"""Time and peak memory of ``analytics.faq.cluster`` on a seeded set of e-commerce customer questions.

    python bench/faq/scale.py --questions 200000 --seed 14
    python bench/faq/scale.py --questions 200000 --seed 14 --incremental 5000   # + ClusterIndex.assign

The generator (``generate``) is reproducible: the same seed gives the same questions.  Each question is
an intent's phrasing (``INTENTS``: ~40 intents, 3–6 phrasings each) about one of ``PRODUCTS``, with a
random greeting or filler before and after, sometimes an order number, a phone number, an amount, a
size or a date in it, sometimes a typo (a character dropped or doubled), and a long tail (``--tail``,
default 25 %) of one-off questions assembled from random product + attribute + verb words, which join
no cluster — the shape of a shop's real question log: a few hundred frequent questions and many rare
ones.

Peak memory is the process's maximum resident set size (``resource.getrusage``, Linux: KiB) after the
run, minus the RSS before the questions were built is also printed; tracemalloc is not used because it
slows numpy-heavy code and misses nothing the RSS shows.
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from analytics.faq import ClusterIndex, cluster  # noqa: E402

PRODUCTS = ["衣服", "裤子", "鞋子", "外套", "连衣裙", "T恤", "羽绒服", "卫衣", "手机壳", "耳机", "充电器",
            "面膜", "口红", "洗面奶", "保温杯", "电饭煲", "台灯", "床单", "枕头", "拖鞋", "背包", "手表",
            "键盘", "鼠标", "零食", "茶叶", "猫粮", "狗粮", "玩具", "奶粉"]
INTENTS = [
    ["什么时候发货", "啥时候发货", "{p}几时能发出", "今天拍的{p}什么时候发", "{p}预计何时发货"],
    ["多久能到货", "几天能到", "{p}发货后多久能收到", "寄到{city}要几天", "快递一般几天到"],
    ["怎么还没发货", "下单{n}天了还没发货", "为什么{p}一直不发货", "订单{order}怎么还没发"],
    ["快递到哪了", "帮我查一下物流", "{p}的包裹到哪里了", "查下订单{order}的快递"],
    ["怎么退货", "{p}怎么退货", "退货怎么操作", "我想退货怎么弄", "如何申请退货"],
    ["退款什么时候到账", "退款多久到账", "钱什么时候退回来", "{amount}的退款几天到"],
    ["退款怎么还没到账", "退款一直没收到", "退款显示成功了没收到钱"],
    ["可以开发票吗", "能开发票吗", "{p}有发票吗", "能不能开个发票"],
    ["发票开错了怎么改", "发票抬头写错了能重开吗", "发票信息填错了怎么办"],
    ["有优惠券吗", "有没有优惠券", "{p}有什么优惠券", "店铺有优惠卷吗"],
    ["优惠券用不了", "优惠券为什么用不了", "领的券用不上", "优惠券显示不可用"],
    ["运费多少", "邮费多少钱", "寄{city}运费多少", "运费怎么算"],
    ["包邮吗", "{p}包邮吗", "{city}包邮吗", "满{amount}包邮吗"],
    ["我身高{h}体重{w}斤穿什么码", "{h}cm {w}斤穿多大码", "身高{h}穿哪个尺码"],
    ["尺码偏大还是偏小", "{p}尺码标准吗", "码数偏小吗"],
    ["尺码不合适可以换吗", "买小了能换大一码吗", "{size}能换成大一号吗"],
    ["可以改收货地址吗", "地址填错了能改吗", "怎么修改收货地址"],
    ["保修多久", "{p}质保多长时间", "保修期几年"],
    ["{p}坏了怎么保修", "出故障了去哪里修", "质保期内坏了怎么办"],
    ["发错货了怎么办", "收到的颜色不对", "给我发错款了"],
    ["少发了一件", "包裹里少了东西", "漏发了怎么处理"],
    ["收到的{p}是坏的", "{p}破损了怎么办", "收到货外壳裂了"],
    ["怎么取消订单", "订单能取消吗", "拍错了帮我取消订单{order}"],
    ["能快点发货吗", "麻烦尽快发货", "可以加急发吗"],
    ["发什么快递", "能发顺丰吗", "可以指定快递吗"],
    ["买贵了能退差价吗", "降价了可以补差价吗", "{p}有价保吗"],
    ["是正品吗", "{p}保证正品吗", "是不是原装正品"],
    ["还有货吗", "{p}有现货吗", "{size}还有库存吗"],
    ["这个怎么用", "{p}使用方法是什么", "有没有使用说明"],
    ["转人工", "有人工客服吗", "我要找人工"],
    ["有赠品吗", "买{p}送赠品吗", "有什么赠品"],
    ["支持七天无理由退货吗", "7天无理由吗", "拆封了还能无理由退吗"],
    ["退货运费谁出", "退回来的邮费谁承担", "退货要自己出运费吗"],
    ["积分怎么用", "积分可以抵钱吗", "怎么用积分抵扣"],
    ["付款失败怎么办", "付不了款", "为什么付款一直失败"],
    ["可以分期吗", "支持花呗分期吗", "能分期付款吗"],
    ["{date}之前能到吗", "{date}前能收到吗", "周末前能送到吗"],
    ["显示签收了但我没收到", "快递显示签收可是我没拿到", "没收到货却显示签收"],
    ["{p}是什么材质的", "{p}面料是纯棉的吗", "材质是什么"],
    ["手机号{phone}能改吗", "联系电话填错了{phone}", "怎么改手机号"],
]
BEFORE = ["", "", "", "亲，", "你好，", "您好 ", "在吗？", "请问", "亲亲 ", "客服，", "麻烦问一下", "哈喽，"]
AFTER = ["", "", "", "？", "呀", "呢", "？谢谢", "啊", "??", "[微笑]", " 急", "！"]
CITIES = ["上海", "北京", "广州", "成都", "新疆", "西藏", "哈尔滨", "杭州"]
TAIL_A = ["颜色", "款式", "包装", "味道", "重量", "电池", "屏幕", "拉链", "袖子", "鞋底", "盖子", "说明书",
          "保质期", "生产日期", "产地", "配件", "按钮", "接口", "图案", "logo"]
TAIL_B = ["是不是", "会不会", "能不能", "有没有", "为什么", "怎么", "可不可以"]
TAIL_C = ["掉色", "变形", "防水", "可以机洗", "有味道", "能折叠", "带电池", "是进口的", "会起球", "能水洗",
          "发光", "有异味", "能调节", "可以定制", "能刻字", "有保修卡", "带盒子", "能送人", "适合小孩", "能微波炉加热"]


def _fill(rng: random.Random, template: str) -> str:
    return template.format(
        p=rng.choice(PRODUCTS), city=rng.choice(CITIES), n=rng.randint(2, 9),
        order=str(rng.randint(10**15, 10**16 - 1)), amount=f"{rng.randint(5, 500)}元",
        h=rng.randint(150, 190), w=rng.randint(80, 200), size=rng.choice(["XL", "L", "M", "38码", "40码"]),
        date=f"{rng.randint(1, 12)}月{rng.randint(1, 28)}日", phone=f"1{rng.randint(3, 9)}{rng.randint(10**8, 10**9 - 1)}",
    )


def _typo(rng: random.Random, text: str) -> str:
    if len(text) < 4 or rng.random() > 0.1:
        return text
    i = rng.randrange(1, len(text) - 1)
    return text[:i] + text[i + 1:] if rng.random() < 0.5 else text[:i] + text[i] + text[i:]


def generate(n: int, seed: int = 14, tail: float = 0.25) -> list[str]:
    """``n`` questions, the same for the same seed (module docs)."""
    rng = random.Random(seed)
    weights = [1.0 / (k + 1) ** 0.8 for k in range(len(INTENTS))]  # a few intents are asked most
    out = []
    for _ in range(n):
        if rng.random() < tail:
            core = rng.choice(PRODUCTS) + "的" + rng.choice(TAIL_A) + rng.choice(TAIL_B) + rng.choice(TAIL_C)
        else:
            intent = rng.choices(INTENTS, weights)[0]
            core = _typo(rng, _fill(rng, rng.choice(intent)))
        out.append(rng.choice(BEFORE) + core + rng.choice(AFTER))
    return out


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--tail", type=float, default=0.25)
    parser.add_argument("--incremental", type=int, default=0, help="then assign this many new questions")
    args = parser.parse_args()
    questions = generate(args.questions, args.seed, args.tail)
    import analytics.faq.similarity as sim

    sim.features("预热")  # load jieba's dictionary outside the timing (csbot serve has it loaded)
    before = _rss_mib()
    started = time.perf_counter()
    cpu = time.process_time()
    labels = cluster(questions)
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu
    clustered = sum(1 for x in labels if x != -1)
    print(f"cluster(): {args.questions:,} questions, {len(set(questions)):,} distinct texts, "
          f"{sim.analyse.cache_info().currsize:,} normalised; "
          f"{len(set(labels) - {-1}):,} clusters holding {clustered:,} questions "
          f"({clustered / len(labels):.0%}); {seconds:.1f} s wall, {cpu:.1f} s CPU; "
          f"peak RSS {_rss_mib():.0f} MiB (was {before:.0f} MiB before clustering)")
    if args.incremental:
        index = ClusterIndex()
        index.fit(questions)
        new = generate(args.incremental, args.seed + 1, args.tail)
        started = time.perf_counter()
        new_labels = index.assign(new)
        seconds = time.perf_counter() - started
        joined = sum(1 for x in new_labels if x != -1)
        print(f"ClusterIndex.assign(): {len(new):,} new questions in {seconds:.1f} s, {joined:,} joined a "
              f"cluster; peak RSS {_rss_mib():.0f} MiB")


if __name__ == "__main__":
    main()
