"""The VK channel: a community bot on vk-api."""
