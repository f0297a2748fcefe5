package io.tandem.server.bench;

import io.tandem.models.BuiltinModels;
import io.tandem.models.ModelOptions;
import io.tandem.models.pipeline.EmbedOutput;
import io.tandem.models.pipeline.EmbedderModel;
import io.tandem.models.pipeline.Model;
import io.tandem.models.tokenize.Tokens;
import io.tandem.models.tokenize.Truncation;
import io.tandem.ort.DeviceChoice;
import io.tandem.server.Tandem;
import io.tandem.server.config.Flags;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The CPU cost of the HTTP path: /embed throughput on bge-small-zh-v1.5 against the same
 * tokenizer + ONNX run in-process, with the same batch size. Not a test (speed belongs in
 * benchmarks); run with server/bench/http-overhead.sh.
 */
public final class HttpOverheadBench {

    private static final int BATCH = 32;

    public static void main(String[] args) throws Exception {
        int seconds = args.length > 0 ? Integer.parseInt(args[0]) : 20;
        int clients = args.length > 1 ? Integer.parseInt(args[1]) : 4;
        List<String> texts = texts(BATCH * 8);
        double inProcess = inProcess(texts, seconds);
        double http = overHttp(texts, seconds, clients);
        System.out.printf("%nbge-small-zh-v1.5, CPU, %d cores, batches of %d texts%n",
                Runtime.getRuntime().availableProcessors(), BATCH);
        System.out.printf("| path | texts/s |%n| --- | --- |%n| in-process (tokenize + ORT) | %.1f |%n"
                + "| HTTP /embed, %d clients | %.1f |%n", inProcess, clients, http);
        System.out.printf("HTTP overhead: %.1f%%%n", 100 * (1 - http / inProcess));
    }

    static List<String> texts(int n) {
        String[] parts = {"今天天气很好", "我们去公园散步吧", "向量检索需要高质量的文本表示", "Tandem serves two models",
            "混合 English 与中文的句子", "机器学习是人工智能的一个分支", "请帮我查询明天的航班", "这是一个测试文本"};
        List<String> texts = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            texts.add(parts[i % parts.length] + "，" + parts[(i * 7 + 3) % parts.length] + " " + i);
        }
        return texts;
    }

    private static double inProcess(List<String> texts, int seconds) {
        try (Model model = Model.load("bench", BuiltinModels.bgeSmallZh(BuiltinModels.defaultCacheDir()),
                new ModelOptions(DeviceChoice.CPU, null, null, 0))) {
            EmbedderModel embedder = (EmbedderModel) model;
            long deadline = System.nanoTime() + seconds * 1_000_000_000L;
            long warm = System.nanoTime() + 3_000_000_000L;
            long done = 0;
            long start = 0;
            int i = 0;
            while (System.nanoTime() < deadline) {
                if (start == 0 && System.nanoTime() > warm) {
                    start = System.nanoTime();
                    done = 0;
                }
                List<Tokens> batch = new ArrayList<>(BATCH);
                for (int k = 0; k < BATCH; k++) {
                    batch.add(model.tokenizer().encode(texts.get(i++ % texts.size()), Truncation.RIGHT));
                }
                embedder.embed(batch, EnumSet.of(EmbedOutput.DENSE));
                done += BATCH;
            }
            return done / ((System.nanoTime() - start) / 1e9);
        }
    }

    private static double overHttp(List<String> texts, int seconds, int clients) throws Exception {
        try (Tandem tandem = Tandem.start(Flags.parse(new String[] {"--device", "cpu", "--port", "0"}, Map.of()))) {
            URI uri = URI.create("http://127.0.0.1:" + tandem.port() + "/embed");
            HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
            List<String> bodies = new ArrayList<>();
            for (int b = 0; b < texts.size() / BATCH; b++) {
                StringBuilder s = new StringBuilder("{\"inputs\":[");
                for (int k = 0; k < BATCH; k++) {
                    s.append(k == 0 ? "" : ",").append('"').append(texts.get(b * BATCH + k)).append('"');
                }
                bodies.add(s.append("]}").toString());
            }
            AtomicLong done = new AtomicLong();
            long warm = System.nanoTime() + 3_000_000_000L;
            long deadline = System.nanoTime() + seconds * 1_000_000_000L;
            long[] start = {0};
            try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
                List<Future<?>> futures = new ArrayList<>();
                for (int c = 0; c < clients; c++) {
                    int offset = c;
                    futures.add(pool.submit(() -> {
                        int i = offset;
                        while (System.nanoTime() < deadline) {
                            HttpRequest req = HttpRequest.newBuilder(uri).header("Content-Type", "application/json")
                                    .POST(HttpRequest.BodyPublishers.ofString(bodies.get(i++ % bodies.size()))).build();
                            HttpResponse<byte[]> res = client.send(req, HttpResponse.BodyHandlers.ofByteArray());
                            if (res.statusCode() != 200) {
                                throw new IllegalStateException("status " + res.statusCode());
                            }
                            if (System.nanoTime() > warm) {
                                synchronized (start) {
                                    if (start[0] == 0) {
                                        start[0] = System.nanoTime();
                                        done.set(0);
                                    }
                                }
                                done.addAndGet(BATCH);
                            }
                        }
                        return null;
                    }));
                }
                for (Future<?> f : futures) {
                    f.get();
                }
            }
            return done.get() / ((System.nanoTime() - start[0]) / 1e9);
        }
    }
}
