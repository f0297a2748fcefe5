package io.tandem.server.http;

import io.tandem.server.core.ServedModel;

import java.util.Map;

/** Prompt prefixes: a request's prompt_name, else the server's default prompt. */
final class Prompts {

    private Prompts() {
    }

    /** The prefix text to prepend, or null; TEI's messages name default-prompt-name either way. */
    static String resolve(ServedModel m, String promptName) {
        if (promptName == null) {
            return defaultPrompt(m);
        }
        Map<String, String> prompts = m.model().descriptor().prompts();
        if (prompts.isEmpty()) {
            throw TeiError.validation("`default-prompt-name` is set to `" + promptName
                    + "` but no prompts were found in the Sentence Transformers configuration");
        }
        String prompt = prompts.get(promptName);
        if (prompt == null) {
            throw TeiError.validation("`default-prompt-name` is set to `" + promptName
                    + "` but it was not found in the Sentence Transformers prompts. Available prompts: "
                    + prompts.keySet());
        }
        return prompt;
    }

    static String defaultPrompt(ServedModel m) {
        if (m.settings().defaultPrompt() != null) {
            return m.settings().defaultPrompt();
        }
        String name = m.settings().defaultPromptName();
        return name == null ? null : m.model().descriptor().prompts().get(name);
    }
}
