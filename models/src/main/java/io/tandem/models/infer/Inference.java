package io.tandem.models.infer;

import io.tandem.models.ModelKind;
import io.tandem.models.pipeline.ClassifierModel;
import io.tandem.models.pipeline.EmbedOutput;
import io.tandem.models.pipeline.EmbedderModel;
import io.tandem.models.pipeline.Embedding;
import io.tandem.models.pipeline.Logits;
import io.tandem.models.pipeline.Model;
import io.tandem.models.pipeline.ModelOutput;
import io.tandem.models.pipeline.VectorMath;
import io.tandem.models.tokenize.TokenSpan;
import io.tandem.models.tokenize.Tokens;
import io.tandem.models.tokenize.Truncation;
import io.tandem.ort.SessionFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.ToLongFunction;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;

/**
 * One model served: every request to it, from HTTP or the Java library, walks through here.
 * It owns a request's whole life (TEI's {@code Infer}): admission (permits), validation,
 * tokenization, the batch queue, the model run, the heads' post-processing (normalisation,
 * {@code dimensions}, scores, ranking) and what the listener is told. Errors leave it as
 * {@link InferenceError} only.
 */
public final class Inference implements AutoCloseable {

    private static final String NOT_AN_EMBEDDER = "Model is not an embedding model";

    private final String name;
    private final Model model;
    private final InferenceSettings settings;
    private final InferenceListener listener;
    private final Tokenization tokenization;
    private final boolean ownsTokenization;
    private final Admission admission;
    /** The prompt text put before inputs that name none, or null. */
    private final String defaultPrompt;
    private final BatchQueue<Set<EmbedOutput>, ModelOutput> queue;
    private volatile boolean lastBatchOk = true;
    private CompletableFuture<?> probe;

    private Inference(Builder b) {
        this.ownsTokenization = b.tokenization == null;
        this.name = b.model.name();
        this.model = b.model;
        this.settings = b.settings.forDevice(b.model.device());
        this.listener = b.listener;
        this.tokenization = ownsTokenization ? new Tokenization(Tokenization.defaultThreads()) : b.tokenization;
        this.admission = new Admission(settings.maxConcurrentRequests(), settings.requestTimeout());
        this.defaultPrompt = settings.defaultPrompt() != null ? settings.defaultPrompt()
                : settings.defaultPromptName() == null ? null : model.descriptor().prompts().get(settings.defaultPromptName());
        BatchRunner<Set<EmbedOutput>, ModelOutput> runner = b.wrapRunner.apply(runnerFor(model));
        BatchQueue.Listener health = new BatchQueue.Listener() {
            @Override
            public void batchFormed(List<Integer> rowLengths) {
                listener.batchFormed(rowLengths);
            }

            @Override
            public void dropped() {
                listener.inputDropped();
            }

            @Override
            public void batchFailed(RuntimeException e) {
                lastBatchOk = false;
            }

            @Override
            public void batchSucceeded() {
                lastBatchOk = true;
            }
        };
        this.queue = new BatchQueue<>(name, runner, new BatchQueue.Budget(settings.maxBatchTokens(),
                settings.maxBatchRequests(), model.packed()), health, b.gate, b.priority, b.runners > 0 ? b.runners : runners(model));
        // Big batches' scratch memory goes back to the device when the queue runs dry.
        model.shrinkArenaAbove(settings.maxBatchTokens() / 2L, queue::idle);
    }

    /**
     * Batches that run at once: one on a GPU (it runs one at a time anyway); on the CPU two, so
     * that one batch's serial stretches (tensors in and out, small operators) overlap another's
     * matrix work, as LangChain4j's texts overlap (bench/cpu: 40 → 70 texts/s on 2 cores).
     */
    private static int runners(Model model) {
        return model.device().startsWith("cuda") ? 1
                : Math.min(SessionFactory.CPU_BATCHES_AT_ONCE, Runtime.getRuntime().availableProcessors());
    }

    /** The one place the model's kind picks how a batch runs. */
    private static BatchRunner<Set<EmbedOutput>, ModelOutput> runnerFor(Model model) {
        return switch (model) {
            case EmbedderModel embedder -> batch -> {
                Set<EmbedOutput> want = EnumSet.noneOf(EmbedOutput.class);
                batch.forEach(item -> want.addAll(item.want()));
                var prepared = embedder.prepare(batch.stream().map(QueuedItem::tokens).toList());
                return new BatchRunner.Prepared<>() {
                    @Override
                    public List<ModelOutput> run() {
                        return List.copyOf(embedder.embed(prepared, want));
                    }

                    @Override
                    public void discard() {
                        prepared.discard();
                    }
                };
            };
            case ClassifierModel classifier -> batch -> {
                var prepared = classifier.prepare(batch.stream().map(QueuedItem::tokens).toList());
                return new BatchRunner.Prepared<>() {
                    @Override
                    public List<ModelOutput> run() {
                        return Arrays.stream(classifier.classify(prepared)).<ModelOutput>map(Logits::new).toList();
                    }

                    @Override
                    public void discard() {
                        prepared.discard();
                    }
                };
            };
        };
    }

    public static Builder builder(Model model) {
        return new Builder(model);
    }

    /** How to serve a loaded model; only the model is required. */
    public static final class Builder {
        private final Model model;
        private InferenceSettings settings = InferenceSettings.library();
        private InferenceListener listener = InferenceListener.NONE;
        private Tokenization tokenization;
        private PriorityGate gate;
        private boolean priority;
        private UnaryOperator<BatchRunner<Set<EmbedOutput>, ModelOutput>> wrapRunner = UnaryOperator.identity();
        private int runners;

        private Builder(Model model) {
            this.model = model;
        }

        public Builder settings(InferenceSettings settings) {
            this.settings = settings;
            return this;
        }

        public Builder listener(InferenceListener listener) {
            this.listener = listener;
            return this;
        }

        /** The tokenizer threads, shared with other models; without it the model gets its own. */
        public Builder tokenization(Tokenization tokenization) {
            this.tokenization = tokenization;
            return this;
        }

        /**
         * Shares the device with another model through the gate.
         *
         * @param priority true for the favoured side (the reranker)
         */
        public Builder gate(PriorityGate gate, boolean priority) {
            this.gate = gate;
            this.priority = priority;
            return this;
        }

        /** Wraps the model's batch runner (tests put failures between the queue and the model). */
        public Builder wrapRunner(UnaryOperator<BatchRunner<Set<EmbedOutput>, ModelOutput>> wrap) {
            this.wrapRunner = wrap;
            return this;
        }

        /** Batches that may run at once; by default one on a GPU, two on the CPU. */
        public Builder runners(int runners) {
            this.runners = runners;
            return this;
        }

        public Inference start() {
            return new Inference(this);
        }
    }

    public String name() {
        return name;
    }

    public Model model() {
        return model;
    }

    public ModelKind kind() {
        return model.descriptor().kind();
    }

    public InferenceSettings settings() {
        return settings;
    }

    /** Inputs waiting for a batch. */
    public int queueSize() {
        return queue.size();
    }

    // ---- requests -------------------------------------------------------------------------

    /**
     * Embeddings of every input: dense vectors cut to {@code dimensions} then normalised as
     * asked (TEI's order), or sparse weights, or per-token vectors.
     */
    public Answer<List<Embedding>> embed(Request.Embed r) {
        long start = System.nanoTime();
        return counted(() -> embed(r, start));
    }

    /** Cosine similarity of the source sentence with each of the others. */
    public Answer<List<Float>> similarity(Request.Similarity r) {
        long start = System.nanoTime();
        return counted(() -> {
            if (r.sentences().isEmpty()) {
                throw InferenceError.empty("`inputs.sentences` cannot be empty");
            }
            embedderFor(EmbedOutput.DENSE);
            List<String> all = new ArrayList<>(r.sentences().size() + 1);
            all.add(r.source());
            all.addAll(r.sentences());
            Request.Inputs inputs = Request.Inputs.texts(all);
            checkBatchSize(all.size());
            List<Computed> out = embedInputs(inputs, r.truncate(), r.promptName(), EmbedOutput.DENSE);
            return answer(cosines(out), out, characters(inputs), true, true, start);
        });
    }

    /** {@link #embed} without counting its failure. */
    private Answer<List<Embedding>> embed(Request.Embed r, long start) {
        EmbedderModel embedder = embedderFor(r.output());
        if (r.dimensions() != null && r.dimensions() == 0) {
            throw InferenceError.validation("`dimensions` should be positive");
        }
        if (r.dimensions() != null && r.dimensions() > embedder.dimensions()) {
            throw InferenceError.validation("`dimensions` should be smaller than the maximum embedding dimension.");
        }
        checkBatchSize(r.inputs().items().size());
        List<Computed> out = embedInputs(r.inputs(), r.truncate(), r.promptName(), r.output());
        List<Embedding> values = out.stream().map(c -> finish((Embedding) c.output(), r)).toList();
        return answer(values, out, characters(r.inputs()), true, r.inputs().batch(), start);
    }

    private List<Computed> embedInputs(Request.Inputs inputs, Request.Truncate truncate, String promptName,
                                       EmbedOutput output) {
        String prompt = prompt(promptName);
        Truncation truncation = truncation(truncate);
        List<Supplier<Tokens>> tasks = inputs.items().stream()
                .map(input -> InputRules.single(model.tokenizer(), input, truncation, prompt)).toList();
        return compute(tasks, EnumSet.of(output), true, inputs.batch(), tokens -> answerBytes(output, tokens));
    }

    /** Bytes of JSON per number, per sparse entry: what an answer costs to hold and send. */
    private static final int JSON_FLOAT_BYTES = 12;
    private static final int JSON_SPARSE_ENTRY_BYTES = 32;
    private static final int JSON_TOKEN_SPAN_BYTES = 64;

    /** An embedding answer's size as JSON: dense vectors, sparse weights per token, or token vectors. */
    private long answerBytes(EmbedOutput output, List<Tokens> tokens) {
        long total = 0;
        for (Tokens t : tokens) {
            total += t.length();
        }
        int dims = ((EmbedderModel) model).dimensions();
        return switch (output) {
            case DENSE -> (long) tokens.size() * dims * JSON_FLOAT_BYTES;
            case SPARSE -> total * JSON_SPARSE_ENTRY_BYTES;
            case TOKENS -> total * dims * JSON_FLOAT_BYTES;
        };
    }

    /** Cosine similarity of the first input's dense vector with each of the others'. */
    private static List<Float> cosines(List<Computed> out) {
        float[] first = ((Embedding) out.getFirst().output()).dense();
        List<Float> scores = new ArrayList<>(out.size() - 1);
        for (int i = 1; i < out.size(); i++) {
            scores.add((float) VectorMath.cosine(first, ((Embedding) out.get(i).output()).dense()));
        }
        return scores;
    }

    /**
     * Texts by relevance to the query, best first: a cross-encoder scores (query, text) pairs;
     * an embedder ranks by cosine similarity (bi-encoder).
     */
    public Answer<List<Rank>> rerank(Request.Rerank r) {
        long start = System.nanoTime();
        return counted(() -> {
            r.requireTexts();
            long characters = (long) r.query().codePointCount(0, r.query().length()) * r.texts().size();
            for (String t : r.texts()) {
                characters += t.codePointCount(0, t.length());
            }
            if (kind() == ModelKind.EMBEDDER) {
                return rerankByCosine(r, characters, start);
            }
            if (kind() != ModelKind.RERANKER) {
                throw InferenceError.modelType("model is not a re-ranker model");
            }
            List<List<String>> pairs = r.texts().stream().map(t -> List.of(r.query(), t)).toList();
            List<Computed> out = classify(pairs, r.truncate(), true);
            float[] scores = new float[out.size()];
            for (int i = 0; i < scores.length; i++) {
                float logit = ((Logits) out.get(i).output()).values()[0];
                scores[i] = r.rawScores() ? logit : VectorMath.sigmoid(logit);
            }
            return answer(Scores.ranked(scores), out, characters, false, true, start);
        });
    }

    /** The query and the texts embedded together; TEI's request cap applies to the texts alone. */
    private Answer<List<Rank>> rerankByCosine(Request.Rerank r, long characters, long start) {
        checkBatchSize(r.texts().size());
        List<String> all = new ArrayList<>(r.texts().size() + 1);
        all.add(r.query());
        all.addAll(r.texts());
        List<Computed> out = embedInputs(Request.Inputs.texts(all), r.truncate(), null, EmbedOutput.DENSE);
        List<Float> cosines = cosines(out);
        float[] scores = new float[cosines.size()];
        for (int i = 0; i < scores.length; i++) {
            scores[i] = cosines.get(i);
        }
        return answer(Scores.ranked(scores), out, characters, true, true, start);
    }

    /** Each item's scores per label, best first: softmax for several labels, sigmoid for one. */
    public Answer<List<List<LabelScore>>> predict(Request.Predict r) {
        long start = System.nanoTime();
        return counted(() -> {
            if (kind() == ModelKind.EMBEDDER) {
                throw InferenceError.modelType("Model is not a classifier model");
            }
            List<Computed> out = classify(r.items(), r.truncate(), r.batch());
            Map<Integer, String> labels = model.descriptor().id2label();
            List<List<LabelScore>> results = new ArrayList<>(out.size());
            long characters = 0;
            for (int i = 0; i < out.size(); i++) {
                results.add(Scores.labelled(((Logits) out.get(i).output()).values(), labels, r.rawScores()));
                for (String s : r.items().get(i)) {
                    characters += s.codePointCount(0, s.length());
                }
            }
            return answer(results, out, characters, false, r.batch(), start);
        });
    }

    /** Tokens with their UTF-8 offsets (tokenizer only: admitted, not counted, as TEI). */
    public List<List<TokenSpan>> tokenize(Request.Tokenize r) {
        if (r.inputs().isEmpty()) {
            throw InferenceError.empty("`inputs` cannot be empty");
        }
        checkBatchSize(r.inputs().size());
        String prompt = prompt(r.promptName());
        int limit = InputRules.characterLimit(model.tokenizer());
        long characters = 0;
        for (String input : r.inputs()) {
            characters += input.length() + (prompt == null ? 0 : prompt.length());
        }
        // At most one token per character: the answer's size is known before tokenizing.
        checkAnswerSize(characters * JSON_TOKEN_SPAN_BYTES);
        return admitted(r.inputs().size(), r.batch(), () -> tokenization.one(() -> {
            List<List<TokenSpan>> all = new ArrayList<>(r.inputs().size());
            for (String input : r.inputs()) {
                if (input.isEmpty()) {
                    throw InferenceError.emptyInput();
                }
                String text = InputRules.guard(input, limit, Truncation.NONE);
                all.add(model.tokenizer().tokenize(prompt == null ? text : prompt + text, r.addSpecialTokens()));
            }
            return all;
        }));
    }

    /** Texts of token ids (tokenizer only, as {@link #tokenize}). */
    public List<String> decode(Request.Decode r) {
        checkBatchSize(r.ids().size());
        for (long[] ids : r.ids()) {
            if (ids.length == 0) {
                throw new InferenceError(InferenceError.Kind.EMPTY, "Input validation error: `input_ids` cannot be empty");
            }
        }
        return admitted(r.ids().size(), r.ids().size() > 1, () -> tokenization.one(() -> r.ids().stream()
                .map(ids -> model.tokenizer().decode(ids, r.skipSpecialTokens())).toList()));
    }

    /** Tokenizer-only work under the model's admission: permits as for inference, failures not counted. */
    private <T> T admitted(int inputs, boolean batch, Supplier<T> work) {
        int held = 0;
        try {
            if (batch) {
                held = admission.acquireUpTo(inputs, admission.deadline(System.nanoTime()));
            } else {
                admission.acquireNow();
                held = 1;
            }
            return work.get();
        } catch (RuntimeException e) {
            throw InferenceError.from(e);
        } finally {
            admission.release(held);
        }
    }

    // ---- the pipeline ---------------------------------------------------------------------

    /** One input's output with what it cost. */
    private record Computed(ModelOutput output, int tokens, long tokenizeNanos, long queueNanos, long inferenceNanos) {
    }

    /**
     * Tokenize → admission → queue → batch → model for every input; results in input order.
     * The answer's size is checked before anything is queued.
     *
     * @param answerBytes the answer's size as JSON, estimated from the inputs' tokens
     */
    private List<Computed> compute(List<Supplier<Tokens>> tasks, Set<EmbedOutput> want, boolean embed, boolean batch,
                                   ToLongFunction<List<Tokens>> answerBytes) {
        long start = System.nanoTime();
        long deadline = admission.deadline(start);
        int n = tasks.size();
        listener.requestStarted(batch);
        // TEI: a single input takes its permit before any work or is refused at once.
        int held = 0;
        if (!batch) {
            admission.acquireNow();
            held = 1;
        }
        List<CompletableFuture<ItemResult<ModelOutput>>> futures = new ArrayList<>(n);
        List<Computed> out = new ArrayList<>(n);
        try {
            for (int i = 0; i < n; i++) {
                listener.inputStarted(embed);
            }
            List<Tokens> tokens = tokenization.all(tasks);
            checkAnswerSize(answerBytes.applyAsLong(tokens));
            long queued = System.nanoTime();
            // A batch's inputs go in waves of the permits free; an input's permit comes back once this
            // thread has its result, so the next request never races the release.
            while (out.size() < n) {
                int i = futures.size();
                if (i < n && held == 0) {
                    held = admission.tryAcquireUpTo(n - i);
                }
                if (held > 0) {
                    futures.addAll(submit(tokens.subList(i, i + held), want));
                    held = 0;
                    continue;
                }
                if (out.size() == futures.size()) {
                    held = admission.acquireUpTo(n - i, deadline); // nothing of ours in flight: wait for a permit
                    continue;
                }
                ItemResult<ModelOutput> r = await(futures.get(out.size()), deadline);
                admission.release(1);
                int k = out.size();
                out.add(new Computed(r.value(), tokens.get(k).length(), queued - start, r.queueNanos(),
                        r.inferenceNanos()));
            }
            return out;
        } catch (RuntimeException e) {
            // Inputs still queued are skipped by the batcher: abandoned inputs cost no compute, and
            // their permits come back now.
            futures.forEach(f -> f.cancel(false));
            admission.release(held + futures.size() - out.size());
            throw e;
        }
    }

    private void checkAnswerSize(long bytes) {
        if (bytes > settings.maxResponseBytes()) {
            throw new InferenceError(InferenceError.Kind.TOO_LARGE, "Input validation error: the answer would be about "
                    + size(bytes) + ", more than the " + size(settings.maxResponseBytes())
                    + " allowed (--max-response-bytes); send fewer or shorter inputs");
        }
    }

    private static String size(long bytes) {
        return bytes >= 1 << 20 ? bytes / (1 << 20) + " MiB" : bytes + " bytes";
    }

    private List<CompletableFuture<ItemResult<ModelOutput>>> submit(List<Tokens> tokens, Set<EmbedOutput> want) {
        try {
            return queue.submitAll(tokens, want);
        } catch (IllegalStateException e) {
            throw InferenceError.unhealthy(); // shutting down
        }
    }

    /** Waits for one input up to the deadline. */
    private ItemResult<ModelOutput> await(CompletableFuture<ItemResult<ModelOutput>> future, long deadline) {
        try {
            return future.get(admission.remaining(deadline), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            throw InferenceError.timeout(settings.requestTimeout());
        } catch (InterruptedException e) {
            throw Admission.interrupted();
        } catch (ExecutionException | CancellationException e) {
            throw InferenceError.from(Tokenization.unwrap(e));
        }
    }

    private List<Computed> classify(List<List<String>> items, Request.Truncate truncate, boolean batch) {
        checkBatchSize(items.size());
        if (defaultPrompt != null && items.stream().anyMatch(i -> i.size() == 2)) {
            throw InferenceError.validation("`prompt_name` cannot be set with dual inputs");
        }
        Truncation truncation = truncation(truncate);
        List<Supplier<Tokens>> tasks = items.stream().map(item -> item.size() == 2
                ? InputRules.pair(model.tokenizer(), item.get(0), item.get(1), truncation)
                : InputRules.single(model.tokenizer(), Request.Input.text(item.getFirst()), truncation, defaultPrompt))
                .toList();
        return compute(tasks, EnumSet.of(EmbedOutput.DENSE), false, batch, tokens -> 0);
    }

    /** Reports a success to the listener and sums up what it cost. */
    private <T> Answer<T> answer(T value, List<Computed> out, long characters, boolean embed, boolean batch, long start) {
        long total = System.nanoTime() - start;
        long tokens = 0;
        long tokenize = 0;
        long queued = 0;
        long inference = 0;
        for (Computed c : out) {
            tokens += c.tokens();
            tokenize += c.tokenizeNanos();
            queued += c.queueNanos();
            inference += c.inferenceNanos();
            listener.inputSucceeded(embed, c.tokens(), timings(total, c.tokenizeNanos(), c.queueNanos(), c.inferenceNanos()));
        }
        int n = Math.max(out.size(), 1);
        Timings means = timings(total, tokenize / n, queued / n, inference / n);
        listener.requestSucceeded(batch, means);
        return new Answer<>(value, tokens, characters, means);
    }

    private static Timings timings(long total, long tokenize, long queue, long inference) {
        return new Timings(Duration.ofNanos(total), Duration.ofNanos(tokenize), Duration.ofNanos(queue),
                Duration.ofNanos(inference));
    }

    /** TEI's order: cut to {@code dimensions}, then normalise. */
    private static Embedding finish(Embedding e, Request.Embed r) {
        if (r.output() != EmbedOutput.DENSE) {
            return e;
        }
        float[] v = r.dimensions() != null ? Arrays.copyOf(e.dense(), r.dimensions()) : e.dense();
        return new Embedding(r.normalize() ? VectorMath.normalize(v) : v, null, null);
    }

    // ---- rules ----------------------------------------------------------------------------

    private EmbedderModel embedderFor(EmbedOutput output) {
        if (!(model instanceof EmbedderModel embedder)) {
            throw InferenceError.modelType(output == EmbedOutput.SPARSE
                    ? "Model is not an embedding model with sparse (`splade` / `m3_sparse`) pooling" : NOT_AN_EMBEDDER);
        }
        if (output == EmbedOutput.SPARSE && !embedder.hasSparse()) {
            throw InferenceError.modelType("Model is not an embedding model with sparse (`splade` / `m3_sparse`) pooling");
        }
        if (output == EmbedOutput.TOKENS && !embedder.hasTokenVectors()) {
            throw InferenceError.modelType("`embed_all` is not available for this model (no per-token output)");
        }
        return embedder;
    }

    private void checkBatchSize(int inputs) {
        if (inputs > settings.maxClientBatchSize()) {
            throw InferenceError.batchSize(inputs, settings.maxClientBatchSize());
        }
    }

    /** The prefix text of a request's prompt_name, else the default prompt, or null. */
    private String prompt(String promptName) {
        if (promptName == null) {
            return defaultPrompt;
        }
        Map<String, String> prompts = model.descriptor().prompts();
        if (prompts.isEmpty()) {
            throw InferenceError.validation("`default-prompt-name` is set to `" + promptName
                    + "` but no prompts were found in the Sentence Transformers configuration");
        }
        String prompt = prompts.get(promptName);
        if (prompt == null) {
            throw InferenceError.validation("`default-prompt-name` is set to `" + promptName
                    + "` but it was not found in the Sentence Transformers prompts. Available prompts: "
                    + prompts.keySet());
        }
        return prompt;
    }

    private Truncation truncation(Request.Truncate truncate) {
        boolean on = truncate.truncate() != null ? truncate.truncate() : settings.autoTruncate();
        return Truncation.of(on, truncate.left());
    }

    private static long characters(Request.Inputs inputs) {
        long n = 0;
        for (Request.Input i : inputs.items()) {
            n += i.characters();
        }
        return n;
    }

    /** Runs a request; its failure is counted by kind and leaves as an {@link InferenceError}. */
    private <T> T counted(Supplier<T> work) {
        try {
            return work.get();
        } catch (RuntimeException e) {
            InferenceError error = InferenceError.from(e);
            if (error.kind().failureLabel() != null) {
                listener.requestFailed(error.kind());
            }
            throw error;
        }
    }

    // ---- health and lifecycle ---------------------------------------------------------------

    /**
     * Healthy when the last batch ran; after a failure, a one-token batch must run to prove
     * the model works again (TEI's rule).
     */
    public boolean healthy() {
        if (lastBatchOk) {
            return true;
        }
        // Concurrent health checks share one probe: a flood of them must not become a flood of
        // batches on a model that is already failing.
        try {
            currentProbe().get(30, TimeUnit.SECONDS);
            return true;
        } catch (Exception e) {
            return false;
        }
    }

    private synchronized CompletableFuture<?> currentProbe() {
        if (probe == null || probe.isDone()) {
            Tokens oneToken = model.tokenizer().fromIds(new long[] {model.descriptor().padId() == 0 ? 1 : 0},
                    Truncation.RIGHT);
            probe = queue.submit(oneToken, EnumSet.of(EmbedOutput.DENSE));
        }
        return probe;
    }

    /** Stops taking inputs and lets queued ones run, up to the timeout; true when all ran. */
    public boolean drain(long timeoutNanos) {
        return queue.drain(timeoutNanos);
    }

    /** Stops the queue and closes the model, and the tokenizer threads unless they are shared. */
    @Override
    public void close() {
        queue.close();
        model.close();
        if (ownsTokenization) {
            tokenization.close();
        }
    }
}
