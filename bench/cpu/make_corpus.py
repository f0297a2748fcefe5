"""Writes bench/cpu/corpus.txt: 384 mixed Chinese/English texts of 48-905 characters, one per line.

A retrieval corpus of sentences and paragraphs, built from fixed sentence lists with a fixed seed
so that every run (and every machine) measures the same texts. Chinese texts stay under 480
characters so that none passes bge-small-zh's 512-token limit: LangChain4j splits longer inputs
and averages the parts, Tandem truncates (as TEI), and the vectors must be compared like for like.
"""
import random
from pathlib import Path

ZH = [
    "向量检索依赖高质量的文本表示。", "混合检索把稀疏的词项权重和稠密向量结合起来。", "重排序模型对候选文档逐一打分。",
    "今天的天气很好，适合去公园散步。", "机器学习是人工智能的一个重要分支。", "请帮我查询明天从北京到上海的航班。",
    "这家餐厅的菜很好吃，价格也合理。", "大规模语言模型需要大量的计算资源。", "数据库索引可以显著加快查询速度。",
    "图形处理器擅长并行的矩阵运算。", "分词器把句子切分成模型能理解的单元。", "长文档通常被切成多个段落分别编码。",
    "用户的问题和文档的语义相似度决定了排序。", "缓存可以减少重复计算带来的延迟。", "开源社区推动了许多工具的发展。",
    "服务的延迟和吞吐量需要同时考虑。", "这本书讲述了一个关于勇气和友谊的故事。", "城市的公共交通系统越来越便利。",
    "模型在不同语言之间也能找到相似的含义。", "批处理能够提高硬件的利用率。",
]
EN = [
    "Vector search depends on good text representations.", "Hybrid retrieval combines sparse term weights with dense vectors.",
    "A reranker scores each candidate document against the query.", "The weather is nice today, a good day for a walk in the park.",
    "Machine learning is an important branch of artificial intelligence.", "Please find tomorrow's flights from Beijing to Shanghai.",
    "Large language models need a great deal of compute.", "A database index can make queries much faster.",
    "Graphics processors are good at parallel matrix arithmetic.", "A tokenizer cuts sentences into units the model understands.",
    "Long documents are usually split into passages that are encoded one by one.",
    "The semantic similarity between the question and a document decides the ranking.",
    "Caching avoids paying twice for the same computation.", "Open source communities drive the development of many tools.",
    "Latency and throughput of a service have to be considered together.",
    "Java services often run embedding models in the same process as the application.",
    "Batching improves the utilisation of the hardware.", "Models can find similar meanings across languages.",
    "The index is rebuilt every night from the latest documents.", "Each passage keeps a pointer to the page it came from.",
]


def text(rng: random.Random, target: int, zh: bool, mixed: bool) -> str:
    out = ""
    while len(out) < target:
        pool = ZH if zh else EN
        if mixed and rng.random() < 0.3:
            pool = EN if zh else ZH
        out += rng.choice(pool) + ("" if zh else " ")
    return out.strip()


def main() -> None:
    rng = random.Random(20261202)
    lines = []
    for i in range(384):
        zh = i % 2 == 0
        longest = 480 if zh else 905
        target = int(48 * (longest / 48) ** rng.random())  # log-uniform: many sentences, some paragraphs
        t = text(rng, target, zh, mixed=i % 3 == 0)
        if len(t) > longest:
            t = t[:longest]
        lines.append(t.replace("\n", " "))
    Path(__file__).with_name("corpus.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    sizes = sorted(len(s) for s in lines)
    print(f"{len(lines)} texts, {sizes[0]}-{sizes[-1]} characters, median {sizes[len(sizes) // 2]}")


if __name__ == "__main__":
    main()
