"""The comments kind (留言评论): public comments and private messages from WeChat, Weibo,
Douyin and the website, triaged, answered in the house style (口径) and escalated."""
