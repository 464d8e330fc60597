"""Entry point module of the feiyu connector plugin."""

from hub.hookspecs import hookimpl

from connectors.feiyu.connector import FeiyuConnector


@hookimpl
def hub_register_connectors(register):
    register(FeiyuConnector)


@hookimpl
def hub_register_labels(register):
    """How the timeline shows a Feiyu lead's detail (mappings/feiyu.leads.yaml)."""
    for key, zh, en in (
        ("clue_id", "线索 ID", "Lead id"), ("advertiser_id", "广告主 ID", "Advertiser id"), ("ad_id", "广告 ID", "Ad id"),
        ("creative_id", "创意 ID", "Creative id"), ("promotion_id", "推广 ID", "Promotion id"), ("site_id", "落地页 ID", "Site id"),
        ("module_name", "表单", "Form"), ("clue_source", "线索来源", "Lead source"), ("channel", "流量来源", "Traffic source"),
        ("intention_estimation", "意向评估", "Intent"), ("convert_status", "转化状态", "Conversion"), ("remark", "备注", "Remark"),
        ("source_api", "接口", "API"),
    ):
        register("field", key, {"zh-CN": zh, "en": en})
