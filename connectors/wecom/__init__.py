"""Built-in connector plugin: WeCom (企业微信) customer contact."""
