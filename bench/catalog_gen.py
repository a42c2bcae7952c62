"""Deterministic synthetic catalog and query mix for the search benchmark.

``generate_catalog(n)`` builds ``n`` service records shaped like the seed catalog (``docs/seed-data.md``) but
flattened: each service carries its organization, its locations (with coordinates) and its eligibility rules.
Text is Chinese, assembled from templates and from the vocabulary of the real demo catalog, with English
alternate names. About 60% of organizations sit in Guangzhou's 11 districts (near gazetteer sub-district and
town centres), the rest across other Guangdong cities. ``generate_queries(catalog)`` builds a fixed mix of
keyword, near-me and place-only queries whose points mostly fall near catalog locations.

Everything is driven by ``random.Random(seed)``: the same arguments always give the same output.

    python -m bench.catalog_gen --services 100000 --out /tmp/bench

writes ``catalog.jsonl`` and ``queries.jsonl`` (UTF-8 JSON Lines) into the output directory.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import random
import re
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from directory.catalog.models import DISTRICTS

ROOT = Path(__file__).resolve().parent.parent
SEED_DIR = ROOT / "seed_data"

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

GZ_SHARE = 0.60
GZ_JITTER_KM = 1.5
CITY_JITTER_KM = 15.0
KM_PER_DEG_LAT = 111.32

GZ_DISTRICTS = list(DISTRICTS)

# Other Guangdong prefecture-level cities: (name, pinyin, approximate centre lat, lon, weight ~ population).
OTHER_CITIES: list[tuple[str, str, float, float, float]] = [
    ("深圳", "Shenzhen", 22.5431, 114.0579, 17.5),
    ("东莞", "Dongguan", 23.0207, 113.7518, 10.5),
    ("佛山", "Foshan", 23.0218, 113.1219, 9.5),
    ("湛江", "Zhanjiang", 21.2707, 110.3594, 7.0),
    ("茂名", "Maoming", 21.6629, 110.9254, 6.2),
    ("惠州", "Huizhou", 23.1115, 114.4162, 6.0),
    ("揭阳", "Jieyang", 23.5497, 116.3728, 5.6),
    ("汕头", "Shantou", 23.3541, 116.6819, 5.5),
    ("江门", "Jiangmen", 22.5787, 113.0819, 4.8),
    ("中山", "Zhongshan", 22.5176, 113.3926, 4.4),
    ("肇庆", "Zhaoqing", 23.0472, 112.4651, 4.1),
    ("清远", "Qingyuan", 23.6820, 113.0560, 4.0),
    ("梅州", "Meizhou", 24.2886, 116.1225, 3.9),
    ("韶关", "Shaoguan", 24.8104, 113.5972, 2.9),
    ("河源", "Heyuan", 23.7436, 114.7007, 2.8),
    ("汕尾", "Shanwei", 22.7862, 115.3750, 2.7),
    ("阳江", "Yangjiang", 21.8580, 111.9826, 2.6),
    ("潮州", "Chaozhou", 23.6567, 116.6226, 2.6),
    ("珠海", "Zhuhai", 22.2710, 113.5767, 2.5),
    ("云浮", "Yunfu", 22.9152, 112.0445, 2.4),
]
HAKKA_CITIES = {"梅州", "河源", "韶关", "惠州"}
TEOCHEW_CITIES = {"汕头", "潮州", "揭阳", "汕尾"}

# Neighbourhood names used for sub-districts outside Guangzhou (zh, pinyin).
CITY_SUBS: list[tuple[str, str]] = [
    ("城东", "Chengdong"), ("城西", "Chengxi"), ("城南", "Chengnan"), ("城北", "Chengbei"), ("新城", "Xincheng"),
    ("东湖", "Donghu"), ("西湖", "Xihu"), ("江北", "Jiangbei"), ("江南", "Jiangnan"), ("河东", "Hedong"),
    ("河西", "Hexi"), ("凤凰", "Fenghuang"), ("金山", "Jinshan"), ("长安", "Chang'an"), ("新安", "Xin'an"),
    ("东城", "Dongcheng"), ("西城", "Xicheng"), ("南城", "Nancheng"), ("莲塘", "Liantang"), ("龙湖", "Longhu"),
]  # fmt: skip
SUBS_PER_CITY = 8
COMMUNITIES: list[tuple[str, str]] = [
    ("枫林", "Fenglin"), ("东风", "Dongfeng"), ("新村", "Xincun"), ("花园", "Huayuan"), ("幸福", "Xingfu"),
    ("和平", "Heping"), ("光明", "Guangming"), ("南苑", "Nanyuan"), ("北苑", "Beiyuan"), ("金沙", "Jinsha"),
    ("翠湖", "Cuihu"), ("锦绣", "Jinxiu"), ("朝阳", "Chaoyang"), ("榕树", "Rongshu"), ("文昌", "Wenchang"),
    ("德政", "Dezheng"), ("松柏", "Songbai"),
]  # fmt: skip
ROADS = ["中山路", "解放路", "人民路", "建设路", "文明路", "东风路", "环城路", "新华路", "健康路", "幸福路", "青年路",
         "工业大道", "滨江路", "公园路", "府前路", "育才路"]  # fmt: skip
BRANDS: list[tuple[str, str]] = [
    ("心桥", "Xinqiao"), ("启明", "Qiming"), ("暖阳", "Nuanyang"), ("同心", "Tongxin"), ("晨光", "Chenguang"),
    ("向日葵", "Sunflower"), ("新起点", "New Start"), ("安心", "Anxin"), ("彩虹", "Rainbow"), ("春晖", "Chunhui"),
    ("明德", "Mingde"), ("善缘", "Shanyuan"), ("青松", "Qingsong"), ("木棉", "Kapok"), ("绿芽", "Green Sprout"),
    ("阳光", "Sunshine"), ("仁爱", "Ren'ai"), ("益心", "Yixin"), ("恒爱", "Heng'ai"), ("夜航", "Night Voyage"),
    ("岭南", "Lingnan"), ("扬帆", "Yangfan"), ("携手", "Hand in Hand"), ("希望", "Hope"),
]  # fmt: skip

WEEKDAYS = ["MO", "TU", "WE", "TH", "FR"]
ALL_DAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]
SCHEDULES: dict[str, list[dict[str, Any]]] = {
    "office": [
        {"byday": WEEKDAYS, "opens_at": "08:30", "closes_at": "12:00"},
        {"byday": WEEKDAYS, "opens_at": "14:00", "closes_at": "17:30"},
    ],
    "office_sat": [
        {"byday": WEEKDAYS, "opens_at": "09:00", "closes_at": "12:00"},
        {"byday": WEEKDAYS, "opens_at": "14:00", "closes_at": "17:30"},
        {"byday": ["SA"], "opens_at": "09:00", "closes_at": "12:00"},
    ],
    "clinic": [
        {"byday": ALL_DAYS, "opens_at": "08:00", "closes_at": "12:00"},
        {"byday": ALL_DAYS, "opens_at": "14:30", "closes_at": "17:30"},
    ],
    "mmt": [
        {"byday": ALL_DAYS, "opens_at": "07:00", "closes_at": "11:30"},
        {"byday": ALL_DAYS, "opens_at": "14:30", "closes_at": "17:00"},
    ],
    "ngo": [
        {"byday": ["TU", "WE", "TH", "FR", "SA"], "opens_at": "09:00", "closes_at": "12:00"},
        {"byday": ["TU", "WE", "TH", "FR", "SA"], "opens_at": "14:00", "closes_at": "18:00"},
    ],
    "evening": [
        {"byday": ["TU", "WE", "TH", "FR"], "opens_at": "14:00", "closes_at": "21:00"},
        {"byday": ["SA", "SU"], "opens_at": "09:00", "closes_at": "17:00"},
    ],
    "always": [{"byday": ALL_DAYS, "opens_at": "00:00", "closes_at": "23:59"}],
    "overnight": [{"byday": ALL_DAYS, "opens_at": "20:00", "closes_at": "08:00"}],
    "meal": [{"byday": ALL_DAYS, "opens_at": "11:00", "closes_at": "13:00"}],
}

# Service templates: (taxonomy codes, name zh, name en, lead sentence, minimum_age, maximum_age, extra rules).
# Names and sentences may use {sub} (北京街 / 狮岭镇), {district} (越秀区 / 深圳市), {dshort} (越秀 / 深圳),
# {sub_en}, {district_en}, {brand}.
Svc = tuple[list[str], str, str, str, int | None, int | None, list[dict[str, Any]]]

# Organization archetypes: weight, key prefix, name zh/en patterns, description, schedule kind,
# whether services are restricted to residents, and service templates.
ARCHETYPES: list[dict[str, Any]] = [
    {
        "kind": "subdistrict", "weight": 17, "schedule": "office", "resident": True,
        "name": "{admin}{sub_full}{office}", "en": "{sub_en} {sub_kind_en} Office, {district_en}",
        "desc": "{district}{sub_full}的基层政府派出机关，设有社会事务（民政）办公室和政务服务中心窗口，受理临时救助、"
                "最低生活保障、住房保障等社会救助申请。",
        "services": [
            (["subdistrict-office", "emergency-relief"], "临时救助申请（{sub}）", "Temporary assistance, {sub_en}",
             "对因火灾、交通事故、突发重病等意外事件导致基本生活暂时出现严重困难的家庭和个人给予临时救助。",
             None, None, [{"criterion": "income", "max_monthly": 2100}]),
            (["dibao", "subdistrict-office"], "最低生活保障申请受理（{sub}）",
             "Minimum living allowance application, {sub_en}",
             "受理辖区户籍居民的最低生活保障（低保）和特困人员供养申请，开展入户调查、民主评议和公示。",
             None, None, [{"criterion": "hukou", "value": "local"}, {"criterion": "income", "max_monthly": 1400}]),
            (["child-protection", "subdistrict-office"], "未成年人保护工作站（{sub}）",
             "Child protection workstation, {sub_en}",
             "街道未成年人保护工作站配备儿童督导员和儿童主任，对困境儿童开展排查、建档和定期探访。",
             None, 17, []),
            (["housing-assistance", "subdistrict-office"], "住房保障与住房救助申请（{sub}）",
             "Public rental housing and housing assistance, {sub_en}",
             "受理公共租赁住房、租赁补贴和住房救助申请，协助困难家庭改善基本居住条件。",
             None, None, [{"criterion": "income", "max_monthly": 2500}]),
            (["subdistrict-office", "medical-aid", "emergency-relief"], "急难型临时救助（{sub}）",
             "Urgent temporary assistance, {sub_en}",
             "对突发重病、重伤而家庭无力承担首期治疗费用的辖区居民实行“先行救助”，急难情形可当日审批。",
             None, None, [{"criterion": "income", "max_monthly": 3000}]),
            (["subdistrict-office", "financial-aid"], "残疾人两项补贴申请（{sub}）",
             "Disability living and care subsidies, {sub_en}",
             "受理困难残疾人生活补贴和重度残疾人护理补贴申请，经审核后按月发放。",
             None, None, [{"criterion": "disability", "value": True}]),
        ],
    },
    {
        "kind": "community-health", "weight": 13, "schedule": "clinic", "resident": False,
        "name": "{admin}{sub}社区卫生服务中心", "en": "{sub_en} Community Health Centre, {district_en}",
        "desc": "政府举办的基层医疗卫生机构，提供基本医疗、家庭医生签约、慢性病管理、预防接种和妇幼保健等服务。",
        "services": [
            (["community-health"], "基本医疗与家庭医生签约", "Primary care and family doctor contracting",
             "提供常见病、多发病诊疗和家庭医生签约服务，签约居民可享受预约就诊、长处方和上门随访。",
             None, None, []),
            (["community-health", "hospital-psychiatric"], "严重精神障碍患者社区管理与随访",
             "Community follow-up for severe mental illness",
             "为辖区登记在册的严重精神障碍患者提供定期随访、服药指导和免费基本药物，协助家属做好看护。",
             None, None, []),
            (["community-health", "hospital-maternal-child"], "孕产妇与儿童保健门诊",
             "Prenatal and child health clinic",
             "为孕产妇建立母子健康档案，提供产前检查、产后访视和0至6岁儿童健康体检。",
             None, None, []),
            (["community-health"], "慢性病管理门诊", "Chronic disease management clinic",
             "为高血压、糖尿病等慢性病患者建立健康档案，定期测量血压血糖并调整用药。", None, None, []),
            (["community-health"], "预防接种门诊", "Vaccination clinic",
             "按国家免疫规划为适龄儿童免费接种疫苗，并提供成人疫苗接种咨询。", None, None, []),
        ],
    },
    {
        "kind": "counselling", "weight": 10, "schedule": "evening", "resident": False,
        "name": "{dshort}{brand}{counselling_org}", "en": "{brand_en} Counselling Centre, {district_en}",
        "desc": "民办非企业单位，由持证心理咨询师和社会工作者提供个体、家庭和团体心理支持，为低收入人士设有公益名额。",
        "services": [
            (["counselling-psychological"], "个体与团体心理咨询", "Individual and group counselling",
             "由持证心理咨询师提供一对一心理咨询和主题支持小组，每次50分钟。", 14, None, []),
            (["counselling-family"], "家庭关系与亲子辅导", "Family and parent-child counselling",
             "针对家庭冲突、亲子沟通和婚姻关系问题提供家庭辅导，可夫妻或全家共同参加。", None, None, []),
            (["hotline", "counselling-psychological"], "{brand}心理支持热线", "{brand_en} support line",
             "由经过培训的志愿者和心理咨询师接听来电，提供情绪疏导和危机干预，必要时转介医疗机构。",
             None, None, []),
            (["counselling-psychological", "counselling-family"], "照顾者心理支持小组",
             "Caregiver psychological support group",
             "为长期照顾病患、残障或戒毒康复家人的照顾者提供减压和互助小组。", 18, None, []),
            (["counselling-psychological"], "个体心理咨询（公益名额）", "Individual counselling with low-income places",
             "为低保、低收入家庭成员提供免费或低价的个体心理咨询名额。", 14, None,
             [{"criterion": "income", "max_monthly": 2500}]),
        ],
    },
    {
        "kind": "family-service", "weight": 8, "schedule": "office_sat", "resident": False,
        "name": "{admin}{sub}社工服务站", "en": "{sub_en} Social Work Station, {district_en}",
        "desc": "政府购买服务的社区社工站（家庭综合服务中心），由社会工作服务机构承接，提供个案、小组和社区活动。",
        "services": [
            (["family-service-centre"], "个案辅导与资源链接", "Casework and resource linkage",
             "社工为有需要的家庭和个人开展个案评估，链接救助、医疗、就业和教育资源。", None, None, []),
            (["family-service-centre", "volunteer"], "长者关爱与探访", "Home visits for older people",
             "组织社工和志愿者定期探访独居、空巢和困难长者，提供生活照顾和情绪支持。", 60, None, []),
            (["family-service-centre", "children-family"], "青少年成长与课后辅导",
             "Youth development and homework club",
             "为困境家庭青少年提供课后功课辅导、成长小组和暑期活动。", 6, 17, []),
            (["volunteer"], "社区志愿者招募与培训", "Volunteer recruitment and training",
             "招募社区志愿者，提供服务培训并安排助老、助残和社区环保等志愿服务。", 16, None, []),
        ],
    },
    {
        "kind": "residents-committee", "weight": 5, "schedule": "office", "resident": True,
        "name": "{sub}{community}社区居民委员会", "en": "{community_en} Residents' Committee, {sub_en}",
        "desc": "社区居民自我管理、自我服务的基层群众性自治组织，协助街道开展社会救助、人口服务和社区治理工作。",
        "services": [
            (["residents-committee", "emergency-relief"], "困难居民帮扶登记", "Hardship registration",
             "登记社区内生活困难、独居或行动不便的居民，协助申请临时救助并安排网格员定期走访。",
             None, None, []),
            (["party-organization"], "党群服务中心活动", "Party and community service centre activities",
             "党群服务中心开放阅览室和活动室，组织党员志愿者为困难群众提供便民服务。", None, None, []),
            (["residents-committee"], "居住证与人口信息办理指引", "Residence permit and registration guidance",
             "为来穗人员和新入住居民提供居住登记、居住证办理指引和社区事务咨询。", None, None, []),
        ],
    },
    {
        "kind": "cdc", "weight": 5, "schedule": "office", "resident": False,
        "name": "{admin}疾病预防控制中心", "en": "{district_en} Center for Disease Control and Prevention",
        "desc": "负责辖区传染病防控、艾滋病防治和公共卫生监测的专业机构，设有自愿咨询检测门诊。",
        "services": [
            (["hiv-testing-counselling"], "艾滋病自愿咨询检测（VCT）", "HIV voluntary counselling and testing",
             "提供免费、保密的艾滋病咨询和快速检测，检测阳性者由专人陪同确证并转介治疗。", None, None, []),
            (["hiv-treatment"], "艾滋病抗病毒治疗随访", "HIV antiviral treatment follow-up",
             "为确诊感染者提供免费抗病毒治疗（ART）、定期随访和用药依从性指导。", None, None,
             [{"criterion": "hiv", "value": "positive"}]),
            (["hiv-testing-counselling", "hiv"], "性病艾滋病检测与咨询", "STI and HIV testing and counselling",
             "提供梅毒、丙肝和艾滋病联合检测及咨询，对高危人群开展暴露前后预防指导。", None, None, []),
        ],
    },
    {
        "kind": "mmt", "weight": 3.8, "schedule": "mmt", "resident": False,
        "name": "{admin}慢性病防治站", "en": "{district_en} Chronic Disease Control Station",
        "desc": "承担辖区美沙酮维持治疗和慢性病防治工作的公共卫生机构。",
        "services": [
            (["methadone-clinic"], "美沙酮维持治疗门诊", "Methadone maintenance treatment clinic, {district_en}",
             "为阿片类物质依赖者提供美沙酮维持治疗（MMT），每日现场服药，并开展心理支持和艾滋病检测。",
             18, None, [{"criterion": "substance", "any_of": ["opioids"]}]),
        ],
    },
    {
        "kind": "anti-drug-office", "weight": 5, "schedule": "office", "resident": True,
        "name": "{admin}禁毒委员会办公室", "en": "{district_en} Drug Control Commission Office",
        "desc": "负责辖区禁毒工作的组织、协调和指导，统筹社区戒毒社区康复工作站和禁毒社工服务。",
        "services": [
            (["rehab-community"], "{sub}社区戒毒社区康复工作站", "{sub_en} community drug rehabilitation station",
             "为社区戒毒、社区康复人员提供尿检、谈话教育、心理辅导和就业帮扶，由禁毒社工跟进个案。", 16, None,
             [{"criterion": "rehab_status", "any_of": ["community_detox", "community_rehab", "released_isolation"]}]),
            (["anti-drug-office"], "禁毒咨询与戒毒康复帮扶协调",
             "Drug-control enquiries and recovery support coordination",
             "受理禁毒咨询和举报，协调社区戒毒康复人员的就业、救助和安置帮扶。", None, None, []),
            (["anti-drug", "volunteer"], "禁毒宣传教育与志愿服务", "Drug prevention education and volunteering",
             "组织禁毒志愿者进学校、进社区开展毒品预防宣传教育。", None, None, []),
        ],
    },
    {
        "kind": "drug-ngo", "weight": 3, "schedule": "ngo", "resident": False,
        "name": "{dshort}{brand}禁毒社会工作服务中心", "en": "{brand_en} Drug Prevention Social Work Centre",
        "desc": "专业禁毒社会工作服务机构，为戒毒康复人员及其家庭提供个案管理、同伴支持和就业帮扶。",
        "services": [
            (["rehab-community", "counselling-family"], "戒毒人员家庭支持小组",
             "Family support group for people who use drugs",
             "为戒毒康复人员家属提供支持小组和家庭辅导，帮助家庭重建沟通和信任。", 18, None, []),
            (["anti-drug-association", "recovery-employer"], "戒毒康复人员就业对接",
             "Job linkage for people in recovery",
             "联系愿意接纳戒毒康复人员的爱心企业，提供岗位推荐和就业跟进。", 18, 55,
             [{"criterion": "rehab_status", "any_of": ["community_detox", "community_rehab", "released_isolation"]}]),
            (["rehab-community"], "同伴教育与复吸预防小组", "Peer education and relapse prevention group",
             "由康复同伴辅导员带领复吸预防小组，分享应对渴求和高危情境的方法。", 18, None, []),
        ],
    },
    {
        "kind": "voluntary-detox", "weight": 0.8, "schedule": "always", "resident": False,
        "name": "{dshort}{brand}自愿戒毒医院", "en": "{brand_en} Voluntary Detox Hospital",
        "desc": "经卫生健康部门批准设立的自愿戒毒医疗机构，提供脱毒治疗和康复指导。",
        "services": [
            (["rehab-voluntary"], "自愿戒毒脱毒住院", "Voluntary inpatient detoxification",
             "为自愿戒毒人员提供住院脱毒治疗、躯体疾病处理和出院后康复指导。", 18, None, []),
        ],
    },
    {
        "kind": "hospital", "weight": 5, "schedule": "clinic", "resident": False,
        "name": "{admin}{hospital_kind}", "en": "{district_en} {hospital_kind_en}",
        "desc": "公立医院，设有门诊、急诊和住院部，承担辖区医疗救治和公共卫生任务。",
        "services": [
            (["hospital-general"], "综合门诊与急诊", "General outpatient and emergency care",
             "提供内科、外科、妇科、儿科等综合门诊和24小时急诊服务。", None, None, []),
            (["hospital-psychiatric"], "精神心理科门诊", "Psychiatry and psychology outpatient clinic",
             "诊治抑郁、焦虑、睡眠障碍和精神分裂症等精神心理疾病，提供药物治疗和心理治疗。", None, None, []),
            (["hospital-maternal-child"], "孕产妇保健与产科", "Maternity care and obstetrics",
             "提供孕期检查、分娩和产后保健服务，高危孕产妇实行专案管理。", None, None,
             [{"criterion": "sex", "value": "female"}]),
            (["hospital", "medical-aid"], "医务社工与医疗救助咨询", "Medical social work and financial aid advice",
             "医务社工协助困难患者申请医疗救助、慈善援助和大病保险。", None, None, []),
        ],
    },
    {
        "kind": "foundation", "weight": 3, "schedule": "office", "resident": False,
        "name": "{province_or_city}{brand}{fund_kind}", "en": "{brand_en} Foundation",
        "desc": "依法登记的慈善组织，面向困难群体开展医疗、助学和生活救助项目。",
        "services": [
            (["foundation", "medical-aid"], "大病医疗救助金", "Serious illness medical grant",
             "为家庭经济困难的大病患者提供一次性医疗救助金，直接支付给医院。", None, None,
             [{"criterion": "income", "max_monthly": 2300}]),
            (["charity-fund", "children-family"], "困境儿童助学金", "Education grant for children in hardship",
             "为困境家庭的中小学生提供学期助学金和学习用品。", 6, 18, []),
            (["charity-fund"], "戒毒康复人员就业启动金", "Job-start grant for people in drug rehabilitation",
             "为稳定就业的戒毒康复人员提供小额启动资金，用于购买工具或支付首月房租。", 18, None, []),
            (["crowdfunding"], "个人大病求助筹款指导", "Help with personal serious-illness appeals",
             "指导困难患者在民政部指定的互联网公开募捐平台发起个人求助并核实材料。", None, None, []),
        ],
    },
    {
        "kind": "employment", "weight": 4, "schedule": "office", "resident": False,
        "name": "{admin}人力资源和社会保障局", "en": "{district_en} Human Resources and Social Security Bureau",
        "desc": "负责就业促进、职业培训和社会保险的政府部门，设有公共就业服务窗口。",
        "services": [
            (["job-placement"], "公共就业服务与就业援助", "Public employment service and employment assistance",
             "提供失业登记、岗位推荐、就业困难人员认定和公益性岗位安置。", 16, 60, []),
            (["job-placement"], "公共招聘会与岗位推荐", "Public job fairs and job matching",
             "每月举办现场招聘会，登记求职意向后由工作人员推荐合适岗位。", 16, None, []),
            (["job-training"], "补贴性职业技能培训", "Subsidised vocational training",
             "组织电工、家政、电商等补贴性职业技能培训，合格者可获职业资格证书和培训补贴。", 16, 60, []),
        ],
    },
    {
        "kind": "training-school", "weight": 2, "schedule": "office_sat", "resident": False,
        "name": "{dshort}{brand}职业技能培训学校", "en": "{brand_en} Vocational Training School",
        "desc": "经人社部门批准的民办职业培训机构，开设多个技能工种培训班。",
        "services": [
            (["job-training"], "叉车司机特种作业培训", "Forklift operator certification training",
             "开设叉车司机特种作业理论和实操课程，考试合格取得操作证。", 18, 55, []),
            (["job-training"], "家政服务员与育婴员培训", "Domestic worker and nanny training",
             "开设家政服务员和育婴员培训班，结业后推荐到家政企业就业。", 16, 60, []),
        ],
    },
    {
        "kind": "employer", "weight": 3, "schedule": "office", "resident": False,
        "name": "{dshort}{brand}{company_kind}", "en": "{brand_en} {company_kind_en}",
        "desc": "愿意接纳戒毒康复人员和就业困难人员的爱心企业，与禁毒部门签订就业帮扶协议。",
        "services": [
            (["recovery-employer"], "{job}（接纳戒毒康复人员）", "{job_en} — people in recovery welcome",
             "招聘{job}，提供岗前培训，包工作餐，接纳戒毒康复人员和刑满释放人员。", 18, 50,
             [{"criterion": "substance", "any_of": ["opioids", "stimulants"], "exclude": True}]),
        ],
    },
    {
        "kind": "shelter", "weight": 3, "schedule": "overnight", "resident": False,
        "name": "{admin}救助管理站", "en": "{district_en} Relief and Assistance Station",
        "desc": "民政部门设立的救助管理机构，为生活无着的流浪乞讨人员和临时遇困人员提供临时救助。",
        "services": [
            (["rescue-centre", "shelter"], "流浪乞讨及临时遇困人员救助", "Relief for homeless and stranded people",
             "为生活无着的流浪乞讨人员提供临时住宿、饮食、医疗和返乡救助。", None, None,
             [{"criterion": "homeless", "value": True}]),
            (["shelter"], "寒潮期间避寒救助", "Cold-weather shelter",
             "寒潮预警期间开放避寒场所，提供棉被、热食和夜间住宿。", None, None, []),
            (["rescue-centre", "child-protection"], "未成年人救助保护", "Protection of unaccompanied minors",
             "对流浪和监护缺失的未成年人提供临时监护、心理疏导和家庭寻亲。", None, 17, []),
        ],
    },
    {
        "kind": "ngo-shelter", "weight": 1.5, "schedule": "always", "resident": False,
        "name": "{brand}{shelter_kind}", "en": "{brand_en} Shelter",
        "desc": "公益庇护机构，为遭受家庭暴力的妇女儿童和无家可归者提供安全的临时住所。",
        "services": [
            (["shelter", "counselling-family"], "家庭暴力受害妇女儿童临时庇护",
             "Temporary shelter for women and children escaping domestic violence",
             "为遭受家庭暴力的妇女及其子女提供最长30天的保密庇护、心理辅导和法律协助。", None, None,
             [{"criterion": "sex", "value": "female"}]),
            (["housing-assistance"], "戒毒康复人员过渡性住房", "Transitional housing for people in drug rehabilitation",
             "为出所后无处居住的戒毒康复人员提供最长6个月的过渡住房和生活技能辅导。", 18, None, []),
        ],
    },
    {
        "kind": "legal", "weight": 3, "schedule": "office", "resident": False,
        "name": "{admin}法律援助处", "en": "{district_en} Legal Aid Office",
        "desc": "司法行政部门设立的法律援助机构，为经济困难公民和特殊案件当事人提供免费法律服务。",
        "services": [
            (["legal-aid"], "法律援助申请受理", "Legal aid applications",
             "受理劳动争议、婚姻家庭、人身损害等案件的法律援助申请，符合条件的指派律师代理。", None, None,
             [{"criterion": "income", "max_monthly": 2300}]),
            (["legal-aid"], "公益律师社区驻点法律咨询", "Community pro bono legal clinic",
             "公益律师每周在社区驻点，免费解答劳动工资、租房和家庭纠纷等法律问题。", None, None, []),
        ],
    },
    {
        "kind": "childcare", "weight": 3, "schedule": "office", "resident": False,
        "name": "{dshort}{brand}托育园", "en": "{brand_en} Childcare Centre",
        "desc": "经卫生健康部门备案的普惠性托育机构，招收3岁以下婴幼儿。",
        "services": [
            (["childcare"], "普惠托育（2至3岁）", "Affordable childcare (2 to 3 years)",
             "提供全日托和半日托服务，保育员与幼儿比例不低于1比5。", None, None,
             [{"criterion": "children_under", "age": 3}]),
            (["childcare", "children-family"], "课后托管与四点半课堂", "After-school care",
             "为双职工和困难家庭小学生提供放学后托管、功课辅导和晚餐。", 6, 12, []),
        ],
    },
    {
        "kind": "food", "weight": 3, "schedule": "meal", "resident": False,
        "name": "{dshort}{brand}{food_kind}", "en": "{brand_en} Food Bank",
        "desc": "社区公益项目，联合商户和志愿者为困难群众提供食物和应急物资。",
        "services": [
            (["food-bank"], "爱心餐免费发放", "Free community meals",
             "每日中午为困难长者、环卫工人和临时遇困人员提供免费爱心餐。", None, None, []),
            (["food-bank", "volunteer"], "食物包与粮油发放", "Food parcels",
             "每月为登记在册的低保、低收入家庭发放粮油和食物包。", None, None,
             [{"criterion": "income", "max_monthly": 2100}]),
            (["emergency-relief"], "应急生活物资援助", "Emergency supplies",
             "为突遇火灾、失业或重病的家庭提供衣物、被褥和日用品等应急物资。", None, None, []),
        ],
    },
]  # fmt: skip

HOSPITAL_KINDS = [("人民医院", "People's Hospital"), ("第一人民医院", "First People's Hospital"),
                  ("中医院", "Hospital of Traditional Chinese Medicine"), ("妇幼保健院", "Maternal and Child Hospital"),
                  ("第三人民医院", "Third People's Hospital")]  # fmt: skip
COMPANY_KINDS = [("物流有限公司", "Logistics Co."), ("速递有限公司", "Express Co."),
                 ("餐饮管理有限公司", "Catering Co."), ("生态农场", "Eco Farm"),
                 ("物业管理有限公司", "Property Management Co."),
                 ("服装厂", "Garment Factory")]  # fmt: skip
JOBS = [("包裹分拣员", "Parcel sorter"), ("仓库搬运工", "Warehouse worker"), ("厨房帮工", "Kitchen helper"),
        ("农场种植工", "Farm worker"), ("保安员", "Security guard"), ("保洁员", "Cleaner"),
        ("缝纫工", "Sewing machinist"), ("外卖骑手", "Delivery rider")]  # fmt: skip

# Generic sentences per taxonomy branch (root code); the real catalog's vocabulary is added at load time.
BRANCH_SENTENCES: dict[str, list[str]] = {
    "medical": [
        "就诊请携带医保卡，异地参保人员可办理异地就医备案后直接结算。",
        "行动不便的患者可预约家庭医生上门服务。",
        "社工转介的困难患者可优先预约并申请减免部分检查费用。",
        "门诊设有粤语和普通话导诊，老年人可走绿色通道。",
    ],
    "drug-treatment": [
        "服务对象的个人信息严格保密，不会因就诊而被通报。",
        "禁毒社工定期跟进，协助链接就业、救助和家庭支持资源。",
        "首次就诊需进行尿检和医生评估。",
        "同时提供艾滋病、丙肝和梅毒检测及转介治疗。",
    ],
    "anti-drug": [
        "每年6月26日国际禁毒日前后集中开展禁毒宣传活动。",
        "欢迎企业和个人加入禁毒志愿服务队伍。",
        "可为社区戒毒康复人员出具帮扶证明，协助办理就业和救助。",
    ],
    "hiv": [
        "检测结果严格保密，可匿名检测。",
        "感染者可获得国家免费抗病毒药物和定期CD4、病毒载量检测。",
        "同伴志愿者可陪同就诊并提供心理支持。",
    ],
    "financial-aid": [
        "申请人需如实申报家庭收入和财产，经核查后公示。",
        "救助金直接发放到申请人银行账户或支付给医院。",
        "社工可协助准备材料并代为提交申请。",
        "同一事由一年内一般只能申请一次。",
    ],
    "employment": [
        "参加培训的就业困难人员可申请培训补贴和生活费补贴。",
        "岗位信息每周更新，可现场登记或由社工代为推荐。",
        "用人单位承诺对求职者的既往经历保密。",
    ],
    "government": [
        "工作时间可直接到政务服务中心窗口办理，也可由社工或居委会代办。",
        "网格员定期入户走访，发现困难及时上报。",
        "办理结果可通过短信或电话通知。",
    ],
    "housing-shelter": [
        "入住期间提供三餐、洗浴和基本医疗。",
        "社工为入住人员制定离站计划，协助寻亲返乡或安排就业。",
        "夜间可由公安、城管或社工护送入站。",
    ],
    "legal-aid": [
        "咨询免费，案件受理后由法律援助律师全程代理。",
        "农民工讨薪案件可免予经济困难审查。",
        "不方便到场的可电话预约或由社工代为咨询。",
    ],
    "counselling": [
        "咨询内容严格保密，涉及人身安全的情况除外。",
        "首次咨询前需进行简短的电话评估。",
        "低收入人士、社工转介个案可申请公益名额。",
        "提供普通话和粤语服务。",
    ],
    "children-family": [
        "服务对象以困境儿童和低收入家庭为主，社工转介优先。",
        "儿童入托需提供体检表和预防接种证。",
        "家长可参加每月一次的亲子教育讲座。",
    ],
    "social-services": [
        "服务免费，社工转介和居民自行求助均可。",
        "服务站设有活动室和阅览室，周末开放社区活动。",
        "志愿者服务时长可记录在志愿服务平台。",
    ],
    "food-relief": [
        "领取时请出示低保证明或社工转介单。",
        "物资来源于爱心企业和市民捐赠，数量有限，发完即止。",
        "行动不便的长者可由志愿者送餐上门。",
    ],
}

APPLICATION_PROCESS: dict[str, list[str]] = {
    "default": [
        "本人或委托社工携带材料到服务窗口登记，工作人员当场审核。",
        "先电话预约，按预约时间到现场办理。",
        "社工填写转介单后发送至服务点，3个工作日内安排首次面谈。",
        "直接到现场登记，无需预约。",
    ],
    "government": [
        "本人或委托社工、居委会到政务服务中心窗口提出申请，填写申请书并签署家庭经济状况核对授权书。",
        "携带材料到街道政务服务中心社会救助窗口办理，约30个工作日内完成调查、公示和审核。",
    ],
    "medical": ["持身份证或医保卡到门诊挂号就诊，可通过微信公众号提前预约。", "到门诊登记后由医生评估并建立档案。"],
}
FEES: dict[str, list[str]] = {
    "default": ["免费。", "免费申请。", "服务免费，部分活动收取材料费。"],
    "medical": [
        "按医保规定收费，低保对象可减免部分费用。",
        "挂号费按公立医院标准收取，可使用医保结算。",
        "基本公共卫生服务项目免费。",
    ],
    "methadone-clinic": ["每日服药费10元，低保对象可申请减免。", "每日服药费10元，首次入组检查按医保规定收费。"],
    "rehab-voluntary": ["按医保和物价部门规定收费，住院押金另计。"],
    "drug-treatment": ["免费。", "服务免费，由政府购买服务项目资助。"],
    "employment": ["免费；符合条件者可领取培训补贴。", "免费，包工作餐。"],
    "counselling": ["公益名额免费，其他按每次100至300元收费。", "免费。"],
}
ELIGIBILITY_DESC: dict[str, str] = {
    "resident": "在{district}居住（含持居住证人员）、符合相关救助条件的居民。",
    "default": "有需要的个人和家庭均可申请，社工转介优先。",
    "age_min": "年满{min}周岁、有相关服务需要的人士。",
    "age_max": "{max}周岁及以下的儿童青少年及其监护人。",
    "age_range": "{min}至{max}周岁、有相关服务需要的人士。",
}
DOCUMENTS: dict[str, list[str]] = {
    "default": ["户口本", "居住证", "社保卡", "收入证明", "低保证明（如有）", "社工转介单"],
    "medical": ["社保卡", "病历", "预防接种证", "母子健康手册", "医院诊断证明"],
    "drug-treatment": ["社区戒毒决定书", "社区戒毒决定书或社区康复决定书", "病历"],
    "financial-aid": ["户口本", "收入证明", "家庭经济状况核对授权书", "医疗费用票据", "低保证明或低收入证明"],
    "children-family": ["儿童户口本或出生证明", "监护人居民身份证", "预防接种证", "儿童入托体检表"],
    "legal-aid": ["与案件有关的材料", "经济困难状况说明或低保证明"],
}

# Keyword queries: Chinese words, English words, pinyin, two-word queries and a few typos.
KEYWORDS_ZH = ["美沙酮", "低保", "临时救助", "心理咨询", "艾滋病检测", "社工站", "托育", "法律援助", "救助站",
               "食物银行", "就业", "职业培训", "家庭医生", "戒毒", "庇护", "热线", "家庭辅导", "住房保障", "儿童保护",
               "爱心餐",
               "禁毒", "医疗救助", "抗病毒治疗", "精神科", "残疾人补贴", "志愿者", "招聘会", "慢性病", "孕产妇",
               "街道办事处", "居委会", "基金会", "过渡住房", "避寒"]  # fmt: skip
KEYWORDS_EN = ["methadone", "counselling", "shelter", "legal aid", "food bank", "HIV testing", "job training",
               "childcare", "hotline", "minimum living allowance", "temporary assistance", "community health",
               "detox", "family counselling", "volunteer", "psychiatry", "emergency supplies", "housing"]  # fmt: skip
KEYWORDS_PINYIN = ["meishatong", "dibao", "xinlizixun", "linshijiuzhu", "aizibing", "tuoyu", "falvyuanzhu",
                   "jiuzhuzhan", "shegongzhan", "jiedu", "jiuye", "rexian"]  # fmt: skip
KEYWORDS_TWO = ["心理 咨询", "临时 救助", "社区 戒毒", "家庭 辅导", "艾滋病 检测", "就业 培训", "天河 低保",
                "番禺 托育", "白云 救助站", "海珠 心理", "legal aid 法律", "methadone 美沙酮"]  # fmt: skip
KEYWORDS_TYPO = ["美沙同", "心里咨询", "低报", "法律援注", "methadon", "shleter", "pyschological", "counceling"]

# Keywords for near-me queries, per taxonomy branch.
BRANCH_KEYWORDS: dict[str, list[str]] = {
    "medical": ["门诊", "家庭医生", "医院", "精神科", "clinic"],
    "drug-treatment": ["美沙酮", "戒毒", "社区康复", "meishatong", "detox"],
    "anti-drug": ["禁毒", "禁毒办", "禁毒协会"],
    "hiv": ["艾滋病", "HIV", "检测", "抗病毒"],
    "financial-aid": ["救助", "医疗救助", "低保", "基金会", "dibao"],
    "employment": ["就业", "培训", "招聘", "jobs"],
    "government": ["街道", "居委会", "低保", "临时救助"],
    "housing-shelter": ["救助站", "庇护", "住房", "shelter"],
    "legal-aid": ["法律援助", "律师", "legal aid"],
    "counselling": ["心理咨询", "家庭辅导", "热线", "counselling"],
    "children-family": ["托育", "儿童", "课后托管", "childcare"],
    "social-services": ["社工站", "志愿者", "长者"],
    "food-relief": ["爱心餐", "食物银行", "物资", "food bank"],
}

# Real descriptions under these codes describe one particular job or course; they are not reused.
JOB_SPECIFIC_CODES = {"recovery-employer", "job-training"}

_PLACE_TOKEN = re.compile(r"[\u4e00-\u9fff]")


@functools.lru_cache(maxsize=1)
def _reference() -> dict[str, Any]:
    """Taxonomy, gazetteer points and text banks (generic plus harvested from the real catalog)."""
    terms = yaml.load((SEED_DIR / "taxonomy.yaml").read_text(encoding="utf-8"), Loader=_Loader)["terms"]
    parent = {t["code"]: t.get("parent") for t in terms}

    def root(code: str) -> str:
        while parent.get(code):
            code = parent[code]
        return code

    places = yaml.load((SEED_DIR / "gazetteer.yaml").read_text(encoding="utf-8"), Loader=_Loader)["places"]
    gz_points: list[dict[str, Any]] = []
    by_district: dict[str, list[dict[str, Any]]] = {d: [] for d in GZ_DISTRICTS}
    district_en: dict[str, str] = {}
    place_tokens = {"广州", "穗"}
    for p in places:
        for name in [p["name"], *p.get("aliases", [])]:
            if _PLACE_TOKEN.search(name) and len(name) >= 2:
                place_tokens.add(name)
        if p["kind"] == "district":
            district_en[p["name"]] = next(a for a in p["aliases"] if a.isascii() and " " not in a)
        if p["kind"] not in ("subdistrict", "town"):
            continue
        en = next((a for a in p["aliases"] if a.endswith((" Subdistrict", " Town"))), p["name"])
        town = p["kind"] == "town"
        point = {
            "district": p["district"],
            "sub_full": p["name"],
            "sub": p["name"] if town else p["name"].removesuffix("道"),
            "sub_en": en.rsplit(" ", 1)[0],
            "sub_kind_en": "Town" if town else "Sub-district",
            "office": "人民政府" if town else "办事处",
            "lat": float(p["lat"]),
            "lon": float(p["lon"]),
        }
        gz_points.append(point)
        by_district[p["district"]].append(point)

    harvested: dict[str, list[str]] = {}
    docs = {k: list(v) for k, v in DOCUMENTS.items()}
    token_re = re.compile("|".join(sorted(map(re.escape, place_tokens), key=len, reverse=True)))
    seen: set[str] = set()
    for path in sorted((SEED_DIR / "catalog").glob("*.yaml")):
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader) or {}
        for org in data.get("organizations") or []:
            for svc in org.get("services") or []:
                codes = [c for c in svc.get("taxonomy") or [] if c in parent]
                if not codes:
                    continue
                branch = root(codes[0])
                harvest = codes[0] not in JOB_SPECIFIC_CODES
                for sentence in re.findall(r"[^。！？]+[。！？]", svc.get("description") or "") if harvest else []:
                    sentence = sentence.strip()
                    if 12 <= len(sentence) <= 90 and sentence not in seen and not token_re.search(sentence):
                        seen.add(sentence)
                        harvested.setdefault(codes[0], []).append(sentence)
                for doc in svc.get("required_documents") or []:
                    if doc != "居民身份证" and not token_re.search(doc) and doc not in docs.setdefault(branch, []):
                        docs[branch].append(doc)

    for arch in ARCHETYPES:
        for svc in arch["services"]:
            unknown = [c for c in svc[0] if c not in parent]
            if unknown:
                raise ValueError(f"unknown taxonomy codes in template {svc[1]!r}: {unknown}")
    # Description banks per taxonomy code: sentences harvested for that code plus its branch's generic ones.
    sentences = {code: harvested.get(code, []) + BRANCH_SENTENCES.get(root(code), []) for code in parent}
    return {
        "codes": list(parent),
        "parent": parent,
        "root": {c: root(c) for c in parent},
        "gz_points": gz_points,
        "by_district": by_district,
        "district_en": district_en,
        "sentences": sentences,
        "docs": docs,
    }


def taxonomy_codes() -> list[str]:
    """All taxonomy codes of ``seed_data/taxonomy.yaml``."""
    return list(_reference()["codes"])


def _jitter(rng: random.Random, lat: float, lon: float, max_km: float) -> tuple[float, float]:
    """A point uniformly distributed in the disc of radius ``max_km`` around (lat, lon)."""
    r = max_km * math.sqrt(rng.random())
    theta = rng.random() * 2 * math.pi
    dlat = r * math.cos(theta) / KM_PER_DEG_LAT
    dlon = r * math.sin(theta) / (KM_PER_DEG_LAT * math.cos(math.radians(lat)))
    return round(lat + dlat, 6), round(lon + dlon, 6)


def _city_areas(rng: random.Random) -> list[dict[str, Any]]:
    """Sub-district anchors for the other Guangdong cities, within 10 km of each city centre."""
    cities = []
    for name, pinyin, lat, lon, weight in OTHER_CITIES:
        subs = []
        for zh, en in rng.sample(CITY_SUBS, SUBS_PER_CITY):
            alat, alon = _jitter(rng, lat, lon, CITY_JITTER_KM - 5.0)
            subs.append({"sub_full": f"{zh}街道", "sub": f"{zh}街", "sub_en": en, "lat": alat, "lon": alon})
        cities.append({"name": name, "pinyin": pinyin, "weight": weight, "subs": subs})
    return cities


def _bank(banks: dict[str, list[str]], code: str, branch: str) -> list[str]:
    """The bank for ``code``, else for its branch, else the default one."""
    return banks.get(code) or banks.get(branch) or banks["default"]


class _Generator:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.ref = _reference()
        self.cities = _city_areas(self.rng)
        self.city_weights = [c["weight"] for c in self.cities]
        self.arch_weights = [a["weight"] for a in ARCHETYPES]

    # -- places -------------------------------------------------------------------------------------------
    def _area(self) -> dict[str, Any]:
        rng = self.rng
        if rng.random() < GZ_SHARE:
            point = rng.choice(self.ref["gz_points"])
            district = point["district"]
            return {
                **point,
                "in_gz": True,
                "city": "广州市",
                "admin": f"广州市{district}",
                "dshort": district[:-1],
                "district_en": self.ref["district_en"][district],
                "province_or_city": "广州市",
                "jitter_km": GZ_JITTER_KM,
                "siblings": self.ref["by_district"][district],
            }
        city = rng.choices(self.cities, self.city_weights)[0]
        sub = rng.choice(city["subs"])
        name = city["name"]
        return {
            **sub,
            "in_gz": False,
            "city": f"{name}市",
            "district": f"{name}市",
            "admin": f"{name}市",
            "dshort": name,
            "district_en": city["pinyin"],
            "sub_kind_en": "Sub-district",
            "office": "办事处",
            "province_or_city": rng.choice(["广东省", f"{name}市"]),
            "jitter_km": 5.0,
            "siblings": city["subs"],
        }

    def _locations(
        self, org_key: str, org_name: str, area: dict[str, Any], count: int, gov_hall: bool
    ) -> list[dict[str, Any]]:
        rng = self.rng
        locs = []
        for i in range(count):
            anchor = area if i == 0 else rng.choice(area["siblings"])
            lat, lon = _jitter(rng, anchor["lat"], anchor["lon"], area["jitter_km"])
            if i == 0:
                name = f"{anchor['sub_full']}政务服务中心" if gov_hall else org_name
            else:
                name = f"{org_name}{anchor['sub']}服务点"
            address = None
            if rng.random() < 0.7:
                address = (
                    f"{area['district']}{anchor['sub_full']}{rng.choice(ROADS)}{rng.randint(1, 399)}号（虚构地址）"
                )
            locs.append({
                "key": f"{org_key}-loc{i + 1}",
                "name": name,
                "district": area["district"],
                "address": address,
                "latitude": lat,
                "longitude": lon,
            })  # fmt: skip
        return locs

    # -- text ---------------------------------------------------------------------------------------------
    def _description(self, lead: str, code: str) -> str:
        bank = self.ref["sentences"][code] or self.ref["sentences"]["social-services"]
        k = self.rng.randint(1, 3)
        return lead + "".join(self.rng.sample(bank, min(k, len(bank))))

    def _eligibility_description(self, resident: bool, area: dict[str, Any], lo: int | None, hi: int | None) -> str:
        if resident:
            return ELIGIBILITY_DESC["resident"].format(district=area["district"])
        if lo is not None and hi is not None:
            return ELIGIBILITY_DESC["age_range"].format(min=lo, max=hi)
        if lo is not None:
            return ELIGIBILITY_DESC["age_min"].format(min=lo)
        if hi is not None:
            return ELIGIBILITY_DESC["age_max"].format(max=hi)
        return ELIGIBILITY_DESC["default"]

    def _languages(self, area: dict[str, Any]) -> list[str]:
        roll = self.rng.random()
        langs = ["zh"] if roll < 0.04 else ["zh", "yue"]
        city = area["dshort"]
        if city in HAKKA_CITIES or (area["in_gz"] and area["district"] in ("从化区", "增城区") and roll > 0.8):
            langs.append("hak")
        if city in TEOCHEW_CITIES:
            langs.append("nan")
        if roll > 0.95:
            langs.append("en")
        return langs

    def _documents(self, branch: str) -> list[str]:
        rng = self.rng
        pool = self.ref["docs"].get(branch) or self.ref["docs"]["default"]
        picked = rng.sample(pool, min(len(pool), rng.randint(0, 3)))
        return (["居民身份证"] if rng.random() < 0.8 else []) + picked

    # -- records ------------------------------------------------------------------------------------------
    def organization(self, index: int, remaining: int) -> list[dict[str, Any]]:
        rng = self.rng
        arch = rng.choices(ARCHETYPES, self.arch_weights)[0]
        area = self._area()
        brand, brand_en = rng.choice(BRANDS)
        hospital_kind, hospital_kind_en = rng.choice(HOSPITAL_KINDS)
        company_kind, company_kind_en = rng.choice(COMPANY_KINDS)
        job, job_en = rng.choice(JOBS)
        community, community_en = rng.choice(COMMUNITIES)
        fields = {
            **area,
            "brand": brand,
            "brand_en": brand_en,
            "hospital_kind": hospital_kind,
            "hospital_kind_en": hospital_kind_en,
            "company_kind": company_kind,
            "company_kind_en": company_kind_en,
            "job": job,
            "job_en": job_en,
            "community": community,
            "community_en": community_en,
            "counselling_org": rng.choice(["心理咨询中心", "家庭辅导中心", "心理咨询工作室"]),
            "fund_kind": rng.choice(["慈善基金会", "社会救助基金会", "公益基金会"]),
            "shelter_kind": rng.choice(["妇女儿童临时庇护所", "夜间庇护站", "过渡安居中心"]),
            "food_kind": rng.choice(["食物银行", "爱心厨房", "社区饭堂"]),
        }
        org_key = f"bench-org-{index:07d}"
        org = {
            "key": org_key,
            "name": arch["name"].format(**fields),
            "alternate_name": arch["en"].format(**fields),
            "description": arch["desc"].format(**fields),
        }
        templates = arch["services"]
        n_services = min(remaining, rng.choices((1, 2, 3), (0.45, 0.35, 0.20))[0], len(templates))
        n_locations = 1 if n_services == 1 or rng.random() < 0.6 else 2
        locations = self._locations(org_key, org["name"], area, n_locations, arch["kind"] == "subdistrict")
        out = []
        for j, (codes, name, name_en, lead, lo, hi, rules) in enumerate(rng.sample(templates, n_services)):
            branch = self.ref["root"][codes[0]]
            roll = rng.random()
            if roll < 0.05:
                svc_locations: list[dict[str, Any]] = []
            elif len(locations) == 2 and roll < 0.35:
                svc_locations = [dict(loc) for loc in locations]
            else:
                svc_locations = [dict(rng.choice(locations))]
            eligibility = [dict(r) for r in rules]
            if lo is not None or hi is not None:
                age: dict[str, Any] = {"criterion": "age"}
                if lo is not None:
                    age["min"] = lo
                if hi is not None:
                    age["max"] = hi
                eligibility.insert(0, age)
            if arch["resident"]:
                eligibility.append({"criterion": "residence_district", "any_of": [area["district"]]})
            status = rng.choices(("active", "temporarily closed", "inactive", "defunct"), (95, 2, 2, 1))[0]
            out.append({
                "key": f"{org_key}-svc{j + 1}",
                "organization": dict(org),
                "name": name.format(**fields),
                "alternate_name": name_en.format(**fields),
                "description": self._description(lead.format(**fields), codes[0]),
                "taxonomy": list(codes),
                "status": status,
                "eligibility_description": self._eligibility_description(arch["resident"], area, lo, hi),
                "application_process": rng.choice(_bank(APPLICATION_PROCESS, codes[0], branch)),
                "fees_description": rng.choice(_bank(FEES, codes[0], branch)),
                "accepting_referrals": rng.random() < 0.85,
                "languages": self._languages(area),
                "required_documents": self._documents(branch),
                "minimum_age": lo,
                "maximum_age": hi,
                "schedules": [
                    {"byday": list(s["byday"]), "opens_at": s["opens_at"], "closes_at": s["closes_at"]}
                    for s in SCHEDULES[arch["schedule"] if rng.random() < 0.85 else rng.choice(list(SCHEDULES))]
                ],
                "locations": svc_locations,
                "eligibility": eligibility,
            })  # fmt: skip
        return out


def generate_catalog(n_services: int, seed: int = 42) -> list[dict]:
    """``n_services`` synthetic service records (1-3 per organization), deterministic for ``seed``."""
    gen = _Generator(seed)
    services: list[dict] = []
    index = 0
    while len(services) < n_services:
        index += 1
        services.extend(gen.organization(index, n_services - len(services)))
    return services


def _query_point(rng: random.Random, catalog: list[dict], max_km: float) -> tuple[float, float]:
    """A point within ``max_km`` of a random catalog location (or a Guangzhou place if there are none)."""
    for _ in range(20):
        locs = rng.choice(catalog)["locations"] if catalog else []
        if locs:
            loc = rng.choice(locs)
            return _jitter(rng, loc["latitude"], loc["longitude"], max_km)
    point = rng.choice(_reference()["gz_points"])
    return _jitter(rng, point["lat"], point["lon"], max_km)


def _keyword(rng: random.Random) -> str:
    bank = rng.choices((KEYWORDS_ZH, KEYWORDS_EN, KEYWORDS_PINYIN, KEYWORDS_TWO, KEYWORDS_TYPO), (45, 20, 12, 15, 8))[0]
    return rng.choice(bank)


def generate_queries(catalog: list[dict], n: int = 240, seed: int = 7) -> list[dict]:
    """A fixed mix of ``max(n, 200)`` queries, a third each keyword, near-me and place-only.

    Near-me and place-only points fall within 1 km of a catalog location 90% of the time, otherwise
    anywhere around a random Guangzhou sub-district or town. Near-me queries carry a taxonomy category
    (a branch code 60% of the time) and, half the time, a keyword from that category's branch.
    """
    n = max(n, 200)
    rng = random.Random(seed)
    ref = _reference()
    codes = ref["codes"]
    branches = [c for c in codes if not ref["parent"][c]]
    kinds = (["keyword", "near_me", "place_only"] * (n // 3 + 1))[:n]
    rng.shuffle(kinds)
    queries: list[dict] = []
    for i, kind in enumerate(kinds):
        qid = f"q{i + 1:04d}"
        if kind == "keyword":
            queries.append({"id": qid, "type": "keyword", "q": _keyword(rng)})
            continue
        if rng.random() < 0.9:
            lat, lon = _query_point(rng, catalog, 1.0)
        else:
            point = rng.choice(ref["gz_points"])
            lat, lon = _jitter(rng, point["lat"], point["lon"], 3.0)
        if kind == "near_me":
            category = rng.choice(branches) if rng.random() < 0.6 else rng.choice(codes)
            q = rng.choice(BRANCH_KEYWORDS[ref["root"][category]]) if rng.random() < 0.5 else ""
            queries.append(
                {"id": qid, "type": "near_me", "q": q, "lat": lat, "lon": lon, "radius_km": 5, "category": category}
            )
        else:
            queries.append({"id": qid, "type": "place_only", "lat": lat, "lon": lon, "radius_km": 10})
    return queries


def dump_jsonl(records: Iterable[dict], path: str | Path) -> int:
    """Write ``records`` to ``path`` as UTF-8 JSON Lines (one compact object per line); return the count."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with path.open("w", encoding="utf-8") as fh:
        for record in records:
            fh.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")))
            fh.write("\n")
            count += 1
    return count


def main(argv: list[str] | None = None) -> int:
    """Command line: generate a catalog and query mix and write them as JSON Lines."""
    parser = argparse.ArgumentParser(description="Generate a synthetic Lianjie catalog and query mix (JSON Lines).")
    parser.add_argument("--services", type=int, default=10_000, help="number of services (default 10000)")
    parser.add_argument("--queries", type=int, default=240, help="number of queries (at least 200; default 240)")
    parser.add_argument("--seed", type=int, default=42, help="catalog seed (default 42)")
    parser.add_argument("--query-seed", type=int, default=7, help="query seed (default 7)")
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    catalog = generate_catalog(args.services, seed=args.seed)
    generated = time.perf_counter() - started
    queries = generate_queries(catalog, n=args.queries, seed=args.query_seed)
    n_catalog = dump_jsonl(catalog, args.out / "catalog.jsonl")
    n_queries = dump_jsonl(queries, args.out / "queries.jsonl")
    print(f"{n_catalog} services ({generated:.1f} s) -> {args.out / 'catalog.jsonl'}")
    print(f"{n_queries} queries -> {args.out / 'queries.jsonl'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
