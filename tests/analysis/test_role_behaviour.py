"""Behavioural table for the role classifier: postings a careful reader labels by docs/labelling-roles.md.

Every expected label here was written from the labelling guide, never from what a model said. The bodies are
realistic postings with varied wording, so the table tests whether the classifier reads the emphasis of the body,
not whether it spots one keyword; the titles include the families a naive model misses.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

AI_SWE, ML_ENGINEER, NOT_AI = "ai_swe", "ml_engineer", "not_ai"


@dataclass(frozen=True)
class Case:
    id: str
    title: str
    body: str
    expected: str
    why: str


def hn(case_id: str, first_line: str, paragraph: str, expected: str, why: str) -> Case:
    """A Hacker News style post: its first line is also its title."""
    return Case(case_id, first_line, f"{first_line}\n{paragraph}", expected, why)


CASES: list[Case] = [
    # --- AI roles under title families a naive model misses -------------------------------------------------------
    Case(
        "llm-engineer-freight-assistant", "LLM Engineer",
        "Harbourline builds software for freight brokers. You will own the assistant that answers carrier and "
        "shipper questions inside our dispatch app. You will design the retrieval layer over rate confirmations, "
        "contracts and email threads, choose how documents are chunked and embedded, and keep the pgvector index "
        "fresh as new loads arrive. You will write and version prompts, build structured-output parsers for the "
        "model's answers, and add fallbacks when a provider times out. You will set up an offline evaluation suite "
        "that scores the assistant's answers against real broker questions and watch quality in production.\n"
        "Requirements: 3+ years shipping backend software in Python or TypeScript; hands-on experience calling "
        "hosted model APIs (OpenAI, Anthropic or similar) in production; familiarity with embeddings and semantic "
        "search; good judgement about latency and cost trade-offs.",
        AI_SWE, "retrieval, prompts and an answer-quality suite around hosted model APIs: a product built on models",
    ),
    Case(
        "llm-engineer-post-training", "LLM Engineer",
        "Quillstone trains compact language models for on-device use. In this role you will run supervised "
        "fine-tuning and preference optimisation (DPO, reward modelling) on our 1B-7B parameter checkpoints, curate "
        "and deduplicate instruction data, and track every run in Weights & Biases. You will build model-level "
        "benchmarks for reasoning and multilingual ability, investigate regressions between checkpoints, and decide "
        "which run ships. You will work closely with the team that distils our larger models into the small ones.\n"
        "What you bring: strong PyTorch; experience training transformers on multi-GPU nodes with FSDP or "
        "DeepSpeed; a solid grasp of tokenisation, loss curves and learning-rate schedules; publications or "
        "open-source model releases are a plus.",
        ML_ENGINEER, "post-training runs, instruction data and model benchmarks: the model is the thing built",
    ),
    Case(
        "genai-engineer-claims", "GenAI Engineer",
        "Northmere Mutual is modernising claims handling. This engineer will build internal tools that read claim "
        "files, medical reports and adjuster notes and draft summaries and next-step recommendations for handlers. "
        "Day to day you will integrate Azure OpenAI into our claims platform, design prompt templates and few-shot "
        "examples, orchestrate multi-step workflows with LangChain or LlamaIndex, and add guardrails that redact "
        "personal data and block unsupported answers. You will partner with claims staff to collect feedback and "
        "measure how often drafts are accepted unchanged.\n"
        "You have: experience building production services in Python (FastAPI or Django), working knowledge of "
        "generative AI APIs and document retrieval, comfort with Azure, and the patience to explain model "
        "limitations to non-technical colleagues.",
        AI_SWE, "integrating Azure OpenAI, prompt templates, orchestration and guardrails into an internal product",
    ),
    Case(
        "generative-ai-engineer-diffusion", "Generative AI Engineer",
        "Lumen Atelier makes design software for fashion brands. We are looking for an engineer to train and adapt "
        "image-generation models: fine-tune latent diffusion models on licensed garment photography, train LoRA "
        "adapters per customer collection, and build the data pipeline that captions, filters and deduplicates "
        "millions of images. You will design evaluation protocols (FID, CLIP score, human preference studies), run "
        "ablations on noise schedules and conditioning, and reduce sampling steps through distillation so "
        "generation fits our GPU budget.\n"
        "Requirements: deep experience with PyTorch and the diffusers library, training runs on multi-GPU "
        "clusters, a record of shipped or published generative models, and comfort reading recent papers and "
        "reproducing them.",
        ML_ENGINEER, "fine-tuning diffusion models, training data and model-level evaluation",
    ),
    Case(
        "inference-engineer-serving", "Inference Engineer",
        "Tessellate hosts open-weight models for enterprise customers, and this team makes those models faster and "
        "cheaper to serve. You will profile token throughput and time-to-first-token on H100 and L40S fleets, "
        "implement continuous batching and paged KV-cache improvements in our vLLM fork, and bring FP8 and INT4 "
        "weight quantisation to production without hurting accuracy. When the profiler points at a hot loop you "
        "will write custom CUDA or Triton kernels, and you will evaluate speculative decoding for our "
        "longest-context workloads.\n"
        "You should have: strong C++ and Python, hands-on GPU programming, an understanding of transformer "
        "architecture at the level of attention and matmul shapes, and experience benchmarking serving systems "
        "under load.",
        ML_ENGINEER, "inference optimisation: batching, quantisation, kernels, serving engines",
    ),
    Case(
        "agent-engineer-bookkeeping", "Agent Engineer",
        "Fernway automates back-office work for accounting firms. You will build the agents that reconcile bank "
        "feeds, chase missing receipts and prepare month-end packs. That means defining tools the agent can call "
        "(ledger queries, document search, email drafts), writing the planning and reflection loops, handling "
        "failures and retries when a tool returns something unexpected, and deciding when a human must approve an "
        "action. You will build tracing so every agent run can be replayed, and scenario tests that catch "
        "regressions before a release.\n"
        "We look for: 4+ years of building production services in Python or TypeScript, experience with "
        "function calling on Claude or GPT models, familiarity with an agent framework (LangGraph, OpenAI Agents "
        "SDK or your own), and strong instincts for reliability.",
        AI_SWE, "building agents with tool calling, planning loops and replayable traces on hosted models",
    ),
    Case(
        "ai-agents-engineer-support", "AI Agents Engineer",
        "Pillarbox is a customer-service platform used by 900 online retailers. Our new team is building autonomous "
        "support agents that resolve orders, refunds and delivery issues end to end. You will connect the agent to "
        "Shopify, Zendesk and carrier APIs through a tool-use layer, design memory and conversation state so long "
        "threads stay coherent, and write the policies that decide when to escalate to a person. You will also own "
        "simulation harnesses that replay thousands of historic tickets against new agent versions and report "
        "resolution rate and error types.\n"
        "Requirements: solid backend engineering (Node.js or Python), production experience with model APIs and "
        "multi-step tool invocation, comfort with asynchronous job queues, and a product mindset.",
        AI_SWE, "autonomous agents with tool use, memory and escalation policies in a product",
    ),
    Case(
        "nlp-engineer-legal-models", "NLP Engineer",
        "Lexora builds legal search for courts in six European languages. As part of the language technology group "
        "you will train and maintain our own text models: named-entity recognition for parties and statutes, "
        "citation extraction, and a cross-lingual retrieval encoder trained with contrastive learning on court "
        "decisions. You will assemble annotation guidelines with our legal experts, train and compare transformer "
        "models, measure precision and recall per language, and package models for batch inference.\n"
        "Requirements: MSc or PhD in computational linguistics, computer science or similar; strong Python and "
        "PyTorch or JAX; hands-on experience training BERT-style encoders and sequence labelling models; "
        "understanding of multilingual tokenisation; experience with Hugging Face Transformers and datasets.",
        ML_ENGINEER, "training NER, extraction and encoder models: building the text models themselves",
    ),
    Case(
        "nlp-engineer-hosted-llm", "NLP Engineer",
        "Brightdesk helps HR teams answer employee questions. We need an engineer to apply large language models "
        "to the text that flows through our product. You will use the Anthropic and OpenAI APIs to classify "
        "incoming tickets, extract fields from policy PDFs and generate draft replies, with prompts and JSON "
        "schemas you design and version. You will build the service that routes each request to the right model, "
        "caches frequent answers, and logs outputs for review, and you will run prompt experiments against a "
        "labelled ticket set before each change ships. No model training is involved: we build on hosted models.\n"
        "You have: 3+ years writing production Python, experience integrating LLM APIs, good SQL, and clear "
        "written communication.",
        AI_SWE, "applying hosted LLM APIs to text in a product, with no model training",
    ),
    Case(
        "applied-scientist-ranking", "Applied Scientist",
        "Cartwheel runs a grocery delivery marketplace. The personalisation team is looking for a scientist to "
        "build the models that rank products in search and on the home feed. You will design features from "
        "browsing and basket history, train gradient-boosted and deep two-tower retrieval models, run offline "
        "evaluation with NDCG and recall, and take winning models to online experiments together with engineering. "
        "You will own the models end to end: retraining cadence, drift monitoring and model cards.\n"
        "Qualifications: PhD or MSc in machine learning, statistics or a related field; 3+ years building "
        "recommender or ranking systems; fluency in Python, PyTorch or TensorFlow, and Spark; publications at "
        "RecSys, KDD or similar are a plus.",
        ML_ENGINEER, "builds and trains ranking models: classic ML built by the role",
    ),
    Case(
        "forward-deployed-engineer-banking", "Forward Deployed Engineer",
        "Meridian Labs sells an agent platform to banks and insurers. Forward-deployed engineers sit with a "
        "customer's team for weeks at a time and build the AI workflows they need on top of our platform: a "
        "retrieval assistant over underwriting manuals, an agent that drafts KYC reviews, a pipeline that extracts "
        "terms from loan agreements with a language model. You will write the integration code, design prompts and "
        "evaluation sets with the customer's experts, tune retrieval, and bring what you learn back to our product "
        "team.\n"
        "You have: 3+ years shipping production systems in Python, experience building with LLM APIs and vector "
        "databases, and the ability to work directly with senior client stakeholders. Travel up to 40%.",
        AI_SWE, "builds LLM and agent solutions for customers, hands-on",
    ),
    Case(
        "ai-engineer-construction-assistant", "AI Engineer",
        "Tallyho makes project-management software for construction firms. We are adding an assistant that turns "
        "site photos, daily logs and RFIs into searchable answers and status reports. You will build the ingestion "
        "that embeds documents into Qdrant, the retrieval and re-ranking service behind the assistant, and the "
        "backend of its streaming chat interface. You will iterate on system prompts, tool definitions and context "
        "windows, set up tracing with Langfuse, and define answer-quality metrics with our customer team.\n"
        "Must-haves: production Python or Go, experience building features on top of GPT-4-class models, "
        "knowledge of vector search and hybrid retrieval, and a habit of shipping small increments. Nice to have: "
        "experience with multimodal inputs.",
        AI_SWE, "vector store, retrieval, prompts and tracing for a product assistant",
    ),
    Case(
        "ai-engineer-robot-policies", "AI Engineer",
        "Orrery Robotics builds manipulation policies for warehouse arms. You will join the learning team that "
        "trains the networks behind every grasp. Responsibilities: build and scale our imitation-learning and "
        "reinforcement-learning training pipelines; run distributed training jobs across a 256-GPU cluster; profile "
        "data loaders and custom CUDA ops when utilisation drops; design held-out evaluation suites in simulation "
        "and on real hardware; and compress policies with pruning and quantisation so they run on the robot's edge "
        "GPU.\n"
        "You have: strong PyTorch, experience training large vision or policy models, familiarity with Slurm or "
        "Kubernetes for GPU scheduling, and solid engineering practice (tests, code review, reproducible "
        "experiments).",
        ML_ENGINEER, "rule 3: an AI Engineer title doing training pipelines, distributed training and CUDA",
    ),
    Case(
        "machine-learning-engineer-credit-risk", "Machine Learning Engineer",
        "Finchly is a consumer lending app serving two million customers. Our risk team needs an engineer to build "
        "and own credit and fraud models. You will engineer features from transaction and bureau data, train and "
        "calibrate gradient-boosted models with XGBoost and LightGBM, backtest them across vintages, and deploy "
        "them as low-latency scoring services with MLflow and a feature store. You will monitor drift and "
        "population stability, retrain on schedule, and document models for regulators.\n"
        "Requirements: 4+ years in applied machine learning, strong Python and SQL, experience with model "
        "monitoring in production, understanding of class imbalance and calibration. Experience in credit risk is "
        "a plus.",
        ML_ENGINEER, "trains, calibrates and ships fraud and credit models with a feature store",
    ),
    Case(
        "ml-engineer-title-gpt-help-centre", "ML Engineer",
        "Hollowbrook sells accounting software to small businesses. This role sits in the support product team and "
        "will wire GPT-4o into our help centre and in-app chat. You will build the pipeline that indexes help "
        "articles and past resolved tickets, write the prompts and answer templates, implement citation of sources "
        "and a hand-off to a human agent, and add safety checks for refund and billing questions. You will measure "
        "deflection and answer accuracy with the support team and improve the retrieval step based on what fails.\n"
        "We are looking for an engineer with strong Python and TypeScript, experience integrating hosted model "
        "APIs into a product, knowledge of embeddings and search, and pragmatism: we do not train models here.",
        AI_SWE, "rule 3: an ML Engineer title wiring GPT-4o into a support product",
    ),
    Case(
        "research-engineer-pre-training", "Research Engineer, Pre-training",
        "Aldercrest is a frontier lab building large multimodal foundation models. The pre-training team designs "
        "and runs our largest training runs. You will improve training throughput across thousands of "
        "accelerators, implement tensor and pipeline parallelism, debug loss spikes and numerical instabilities, "
        "and build the data mixtures that go into each run, from web-scale text filtering to code and image-text "
        "pairs. You will run scaling-law experiments to choose model sizes and hyperparameters and write the "
        "tooling researchers use to launch and monitor jobs.\n"
        "You bring: deep experience with JAX or PyTorch at scale, knowledge of Megatron, DeepSpeed or similar "
        "frameworks, comfort with large distributed systems and fault tolerance, and curiosity about why a model "
        "learns what it learns.",
        ML_ENGINEER, "pre-training runs, parallelism, data mixtures and scaling laws",
    ),
    Case(
        "mlops-engineer-clinical", "MLOps Engineer",
        "Veridian Health builds clinical prediction models used by 40 hospitals. You will own the platform that "
        "takes a model from a data scientist's notebook to production. You will build training pipelines on "
        "Kubeflow, a model registry and promotion process, automated retraining triggered by data drift, and the "
        "monitoring that alerts when a sepsis or readmission model's performance degrades. You will standardise "
        "experiment tracking, containerise models for GPU and CPU serving, and keep lineage audit-ready for "
        "regulators.\n"
        "Requirements: 4+ years in ML platform or DevOps for ML, Kubernetes, Terraform, Python, experience with "
        "MLflow or Vertex AI, and an understanding of how models are trained and validated.",
        ML_ENGINEER, "the MLOps stack: training pipelines, registry, retraining and model monitoring",
    ),
    Case(
        "computer-vision-engineer-drones", "Computer Vision Engineer",
        "Skyfield Agritech flies drones over 3 million acres of farmland a season. You will develop the vision "
        "models that find weeds, count plants and detect disease from multispectral imagery. Responsibilities "
        "include building labelled datasets with our agronomists, training segmentation and detection networks "
        "(Mask R-CNN, YOLO, vision transformers), handling domain shift between crops and seasons, and optimising "
        "models with TensorRT for on-drone inference. You will set up evaluation per crop and per region and decide "
        "when a model is ready to ship.\n"
        "You have: 3+ years training deep learning models for images, strong PyTorch, experience with data "
        "augmentation and active learning, and some experience deploying to embedded GPUs such as Jetson.",
        ML_ENGINEER, "builds and trains vision models",
    ),
    Case(
        "speech-recognition-engineer-asr", "Speech Recognition Engineer",
        "Cantor Voice provides transcription for call centres in 14 languages. The speech team trains our acoustic "
        "and language models. You will train and fine-tune end-to-end ASR models (Conformer, Whisper-style "
        "encoder-decoders), build pipelines for noisy telephone audio, design word-error-rate benchmarks per accent "
        "and domain, and work on streaming decoding with low latency. You will also experiment with self-supervised "
        "pre-training on unlabelled audio and with speaker diarisation.\n"
        "Requirements: experience training speech recognition models, strong Python and PyTorch, understanding of "
        "CTC and attention-based decoding, signal processing fundamentals, and experience with Kaldi, ESPnet or "
        "NeMo.",
        ML_ENGINEER, "trains speech models and benchmarks word error rate",
    ),
    Case(
        "founding-engineer-research-assistant", "Founding Engineer",
        "We are a seed-stage startup of five people building an AI research assistant for equity analysts. It "
        "reads filings, earnings call transcripts and broker notes and answers questions with sourced citations. "
        "As our first engineering hire you will build the product end to end: document ingestion and chunking, "
        "hybrid retrieval over a vector store, prompt chains that produce grounded answers, and an evaluation "
        "harness to catch hallucinations before users do. You will also ship the Next.js front end and set up our "
        "deployment.\n"
        "You have shipped product at a startup, know Python and TypeScript, have built something real on top of "
        "Claude or GPT APIs, and want ownership and equity.",
        AI_SWE, "an LLM product built end to end: retrieval, prompt chains, grounded answers",
    ),
    Case(
        "senior-software-engineer-contract-qa", "Senior Software Engineer",
        "Paperlane makes contract management software. Our knowledge team is building semantic search and question "
        "answering across customers' contracts. You will design and build the retrieval-augmented generation "
        "pipeline: parsing PDFs and Word files, chunking clauses, generating embeddings, storing them in "
        "Elasticsearch's vector index, and assembling context for the model so answers quote the exact clause. You "
        "will own latency and cost budgets, build evaluation datasets with our legal experts, and tune re-ranking.\n"
        "Requirements: 6+ years of backend engineering, Java or Kotlin and Python, experience with search systems, "
        "recent hands-on work with LLM APIs and embeddings, and the ability to lead design reviews.",
        AI_SWE, "a generic title whose body is a RAG pipeline",
    ),
    Case(
        "backend-engineer-training-platform", "Backend Engineer",
        "Corvid trains foundation models for biology. The training infrastructure team builds the systems our "
        "researchers use to launch, schedule and monitor GPU training jobs. You will write the Go and Python "
        "services behind our job scheduler, manage checkpoint storage and resumption for multi-day runs, build "
        "dashboards for GPU utilisation and training loss, and automate recovery when nodes fail mid-run. You will "
        "work with researchers to make distributed training on our 1,000-GPU cluster reliable and fast.\n"
        "Requirements: strong backend engineering in Go or Python, experience with Kubernetes or Slurm, "
        "familiarity with distributed training (PyTorch DDP, FSDP) and GPU clusters, and care for reliability.",
        ML_ENGINEER, "rule 4: a platform for training models is ml_engineer whatever the title",
    ),
    Case(
        "engineering-manager-llm-platform", "Engineering Manager, LLM Platform",
        "Sableworks runs a marketplace for freelance designers. You will lead a team of seven engineers that builds "
        "our internal LLM platform: the gateway every product team uses to call models, with routing between "
        "providers, caching, rate limits and cost tracking; a prompt registry with versioning; a retrieval service "
        "over our catalogue; and an evaluation service that checks AI features before launch. Your team ships "
        "features too, such as brief generation and portfolio search. You will hire, coach and set direction, and "
        "stay close enough to the code to review designs.\n"
        "Requirements: 2+ years managing engineers, a background in backend development, and hands-on experience "
        "shipping products on LLM APIs.",
        AI_SWE, "rule 7: a manager takes the team's work, here a platform for building LLM features",
    ),
    # --- Hacker News style posts ----------------------------------------------------------------------------------
    hn(
        "hn-ml-engineer-forecasting", "Gradientfield | Machine Learning Engineer | Amsterdam | REMOTE",
        "We forecast electricity demand and prices for grid operators across Europe. We're looking for someone to "
        "own our forecasting models: train and backtest gradient-boosted and deep temporal models on weather, load "
        "and market data, build the feature pipelines, and run training on our GPU boxes. You'd also improve our "
        "evaluation setup (probabilistic metrics, backtests per market) and push models to production. Stack: "
        "Python, PyTorch, LightGBM, Polars, Postgres, Airflow. Small team (8), profitable, few meetings. Email "
        "jobs@gradientfield.eu with something you built.",
        ML_ENGINEER, "HN post hiring someone to train and evaluate forecasting models",
    ),
    hn(
        "hn-llm-meeting-notes", "Quokka Notes | Senior Full-Stack Engineer (AI product) | New York | REMOTE",
        "We're building a meeting-notes app that turns calls into action items and CRM updates. Looking for an "
        "engineer to work on our LLM features: summarisation prompts, extraction into structured fields, a chat over "
        "all your past meetings (embeddings + pgvector), and agents that push updates into Salesforce and HubSpot "
        "through their APIs. You'll work across TypeScript, Python and Postgres and ship weekly. We use Claude and "
        "GPT-4o via API; we don't train models. Seed-funded, 6 people, competitive equity. Apply: "
        "quokkanotes.com/jobs",
        AI_SWE, "HN post hiring for LLM product features on hosted APIs",
    ),
    hn(
        "hn-rails-bookshops", "Tidewater Books | Senior Rails Developer | Portland, OR | REMOTE",
        "We make inventory and point-of-sale software for independent bookshops (1,400 stores). Looking for a "
        "developer to work on our Ruby on Rails monolith and Postgres database: new features for purchase orders "
        "and consignment, performance work on reporting queries, the upgrade to Rails 7.2, and some Hotwire "
        "front-end work. You'll pair with our two other devs and talk to booksellers directly. Salary $150-175k, "
        "four-day week. Email us at work@tidewaterbooks.com.",
        NOT_AI, "rule 6: an HN post with no AI/ML engineering role",
    ),
    # --- Not AI roles ---------------------------------------------------------------------------------------------
    Case(
        "data-scientist-growth-analytics", "Data Scientist",
        "Pebblecart is a subscription snacks company. On the growth analytics team you will be the go-to person for "
        "questions about customer behaviour. You will build and maintain Looker dashboards for retention, "
        "conversion and basket size, design and analyse A/B tests on pricing pages and onboarding, write SQL "
        "against our Snowflake warehouse, and present findings to marketing and product leadership each week. You "
        "will also define metrics and keep our KPI definitions consistent across teams.\n"
        "Requirements: 3+ years in product or marketing analytics, excellent SQL, experience with experimentation "
        "and statistical testing, Python or R for analysis, and strong storytelling with data. Familiarity with "
        "machine learning is a nice-to-have.",
        NOT_AI, "rule 5: analytics, dashboards, A/B tests and SQL; ML only a nice-to-have",
    ),
    Case(
        "solutions-architect-presales", "Solutions Architect",
        "Nimbusflow sells an AI-powered document automation platform to enterprises. Solutions Architects partner "
        "with account executives throughout the sales cycle. You will run discovery calls, map customers' "
        "workflows, deliver tailored product demonstrations and proof-of-concept presentations, answer security "
        "questionnaires and RFPs, and scope implementation plans for our professional services team. You will be "
        "the technical voice in the room for CIOs and procurement teams, and feed what you hear back to product.\n"
        "Requirements: 5+ years in pre-sales or solutions consulting for B2B SaaS, excellent presentation skills, "
        "understanding of enterprise integration patterns (SSO, APIs, data residency), and willingness to travel "
        "30%. Familiarity with AI products is helpful.",
        NOT_AI, "customer-facing pre-sales family: demos and discovery, no hands-on AI building",
    ),
    Case(
        "account-executive-ai", "Account Executive, AI",
        "Arclight is a fast-growing generative AI company whose models power writing tools for 4,000 businesses. "
        "We are hiring a seller to grow our mid-market segment. You will own a quota, build pipeline through "
        "outbound prospecting and events, run discovery and negotiation, and close new-logo deals of $50k-$300k "
        "ARR. You will work with solutions and customer-success colleagues to land and expand accounts, and keep "
        "Salesforce up to date with accurate forecasts.\n"
        "What you bring: 4+ years of closing in SaaS, a consistent record of hitting quota, confidence selling to "
        "VPs and C-level buyers, and curiosity about AI. OTE $260k with uncapped commission, equity and a generous "
        "travel budget.",
        NOT_AI, "sales, even at an AI company",
    ),
    Case(
        "sales-engineer-ai-platform", "Sales Engineer, AI Platform",
        "Helix Cloud offers a managed platform for deploying and scaling AI models. You will support our sales team "
        "from first call to signed contract. You will run technical discovery, give live demos of the console and "
        "API, build lightweight proof-of-concept notebooks that show customers how to deploy a model on our "
        "platform, answer technical questions in RFPs, and coordinate trials with our support engineers. You will "
        "present at customer workshops and industry events.\n"
        "Requirements: 3+ years in a pre-sales or customer-facing technical role, comfort with cloud concepts and "
        "APIs, excellent communication, and the ability to translate technical value into business outcomes. "
        "Travel up to 25%.",
        NOT_AI, "sales engineers are the customer-facing family unless mainly building AI systems",
    ),
    Case(
        "product-manager-ai-assistant", "Product Manager, AI",
        "Orbitly is a collaboration suite for remote teams. You will own the roadmap for our assistant features: "
        "meeting recaps, smart search and writing help. You will interview customers, write product requirement "
        "documents, prioritise the backlog with engineering and design, define success metrics, and coordinate "
        "launches with marketing and support. You will decide which AI capabilities are worth building, balance "
        "quality against cost, and communicate trade-offs to leadership.\n"
        "Requirements: 5+ years of product management in B2B SaaS, experience launching features that use machine "
        "learning or generative AI, a data-informed approach, and excellent written communication. An engineering "
        "background is welcome but not required.",
        NOT_AI, "product managers are not_ai even for AI features",
    ),
    Case(
        "recruiter-machine-learning", "Recruiter, Machine Learning",
        "Stratos Research is a lab working on large-scale machine learning. We are looking for a technical recruiter "
        "to hire research scientists and ML engineers. You will partner with hiring managers to define roles, "
        "source candidates through research networks, conferences and GitHub, run phone screens, coordinate "
        "interview loops, and manage offers through close. You will build talent maps for areas like reinforcement "
        "learning and distributed systems and keep our applicant tracking system accurate.\n"
        "Requirements: 4+ years of technical recruiting, ideally for AI research or deep-tech companies; strong "
        "sourcing skills; experience closing senior candidates; excellent organisation. You do not need to write "
        "code, but you should enjoy learning what our researchers do.",
        NOT_AI, "recruiting, whatever the roles being hired",
    ),
    Case(
        "technical-writer-llm-apis", "Technical Writer, LLM APIs",
        "Corvex offers APIs that give developers access to large language models. You will own our developer "
        "documentation: API references, quick-start guides, tutorials on streaming and function calling, and "
        "migration notes for each model release. You will work with engineers and product managers to understand "
        "new features, write clear sample code snippets in Python and JavaScript, test them against the API, and "
        "keep the docs site's information architecture coherent. You will also review error messages and SDK "
        "docstrings for clarity.\n"
        "Requirements: 3+ years writing developer documentation, ability to read code and run API calls, "
        "experience with docs-as-code tools (Markdown, Git, static site generators), and meticulous attention to "
        "detail.",
        NOT_AI, "documentation about LLM APIs is writing, not AI engineering",
    ),
    Case(
        "backend-engineer-billing-at-ai-company", "Backend Engineer",
        "Lattice AI builds generative tools for video creators. Our billing team is hiring an engineer to own "
        "subscriptions and payments. You will build and maintain services for plans, invoices, usage metering and "
        "refunds in Python and Postgres, integrate with Stripe and app-store billing, design REST endpoints for the "
        "web and mobile apps, and handle idempotency, retries and reconciliation jobs. You will take part in "
        "on-call and improve our CI/CD pipelines and test coverage.\n"
        "Requirements: 4+ years building backend services, strong SQL and data modelling, experience with payment "
        "providers, and care for correctness. Experience at a consumer subscription business is a plus.",
        NOT_AI, "rule 2: an AI company blurb over ordinary payments and CRUD work",
    ),
    Case(
        "frontend-engineer-ai-startup", "Frontend Engineer",
        "Wisp is a seed-stage startup building an AI companion for language learners. We need an engineer to craft "
        "the web experience. You will build React and TypeScript components, own our design system in Storybook, "
        "implement responsive layouts and animations with Framer Motion, improve Core Web Vitals, and write "
        "Playwright tests. You will work closely with our designer on onboarding, lesson screens and the "
        "subscription flow, and make the app accessible to WCAG AA.\n"
        "Requirements: 3+ years of professional frontend development, expert React and TypeScript, CSS "
        "craftsmanship, experience with Next.js and state management, and an eye for detail.",
        NOT_AI, "React UI work at an AI startup",
    ),
    Case(
        "site-reliability-engineer-cloud", "Site Reliability Engineer",
        "Fathom Assist runs a customer-support product used by 2,000 companies. Our SRE team keeps the platform "
        "fast and available. You will manage AWS infrastructure with Terraform, run our EKS clusters, improve "
        "observability with Prometheus, Grafana and OpenTelemetry, define SLOs and error budgets, lead incident "
        "response and write blameless postmortems, and automate toil in deployment and database failover. You will "
        "harden our Postgres and Redis fleets and help teams design for resilience.\n"
        "Requirements: 5+ years in SRE or infrastructure engineering, deep Linux and networking knowledge, "
        "Kubernetes in production, infrastructure as code, and a calm head during incidents.",
        NOT_AI, "rule 4: general cloud infrastructure is not_ai",
    ),
    Case(
        "asic-design-engineer-accelerator", "ASIC Design Engineer",
        "Tensormill designs a data-centre accelerator for neural-network workloads. You will own RTL for blocks of "
        "our matrix engine and on-chip network. You will write micro-architecture specifications, implement "
        "designs in SystemVerilog, work with verification to reach coverage closure, close timing with physical "
        "design, and analyse power and area trade-offs. You will take part in silicon bring-up and debug.\n"
        "Requirements: BS/MS in electrical or computer engineering, 5+ years of RTL design for complex SoCs, solid "
        "knowledge of pipelining, clock-domain crossing and low-power techniques, and experience with synthesis and "
        "static timing analysis tools. Familiarity with how matrix multiply units work is a plus.",
        NOT_AI, "chip design is not_ai even when the chip is for ML",
    ),
    Case(
        "data-engineer-bi-pipelines", "Data Engineer",
        "Marlow Retail operates 300 stores and a growing online shop. The data platform team is hiring an engineer "
        "to build the pipelines behind our reporting. You will ingest sales, inventory and loyalty data from ERP "
        "and e-commerce systems with Fivetran and Airflow, model it in dbt on BigQuery, maintain data-quality "
        "checks, and publish trusted tables for finance and merchandising dashboards in Power BI. You will tune "
        "costs, document lineage and support analysts with new data sources.\n"
        "Requirements: 3+ years of data engineering, strong SQL and Python, experience with dbt and an "
        "orchestration tool, dimensional modelling, and good communication with business stakeholders.",
        NOT_AI, "data pipelines for BI, not for models",
    ),
    Case(
        "customer-success-manager-ai", "Customer Success Manager, AI",
        "Beacon Labs sells an AI writing assistant to marketing teams. You will own a book of 40 enterprise "
        "accounts after they sign. You will lead onboarding and training sessions, build success plans with each "
        "customer, track adoption and health scores, run quarterly business reviews, and spot expansion "
        "opportunities with account executives. You will gather feedback about how teams use the assistant and "
        "share it with product.\n"
        "Requirements: 3+ years in customer success or account management for SaaS, excellent presentation and "
        "relationship skills, comfort with data on usage and renewal, and enthusiasm for helping people adopt new "
        "AI tools.",
        NOT_AI, "customer success, even for an AI product",
    ),
    Case(
        "ai-trainer-annotator", "AI Trainer / Annotator",
        "Join our project helping to improve AI chatbots. You will read conversations between users and AI models "
        "and rate the responses for accuracy, helpfulness and tone, write better example answers, flag unsafe "
        "content and compare pairs of responses to say which is better. Projects cover everyday topics, writing "
        "and general knowledge. The work is flexible and fully remote: choose your own hours, minimum 10 hours a "
        "week, paid hourly.\n"
        "Requirements: native-level English, a bachelor's degree or equivalent experience, strong writing and "
        "research skills, attention to detail, and a reliable internet connection. No coding experience needed.",
        NOT_AI, "non-engineers rating model outputs are not_ai",
    ),
    Case(
        "marketing-manager-generative-ai", "Marketing Manager, Generative AI",
        "Cobaltline offers generative AI models to developers and enterprises. We are hiring someone to lead "
        "product marketing for our model launches. You will craft positioning and messaging, write launch blog "
        "posts and landing pages, plan webinars and conference presence, produce customer case studies, and arm "
        "the sales team with battlecards. You will track campaign performance and pipeline attribution in HubSpot "
        "and work with the developer relations team on community programs.\n"
        "Requirements: 5+ years in B2B product marketing, ideally for developer tools or cloud products, excellent "
        "writing, experience running launches end to end, and the curiosity to understand what a new model can do.",
        NOT_AI, "marketing, even for generative AI models",
    ),
    # --- A few more hard cases from the guide ---------------------------------------------------------------------
    Case(
        "data-scientist-churn-models", "Data Scientist",
        "Ridgeway Telecom serves 5 million mobile subscribers. The data science team builds the predictive models "
        "behind our retention and network planning. You will develop, train and deploy churn propensity and "
        "customer lifetime value models, engineer features from usage and billing events, validate models with "
        "proper out-of-time splits, and work with ML platform engineers to serve scores daily to our CRM. You will "
        "monitor model performance, retrain when it decays and explain drivers with SHAP.\n"
        "Requirements: MSc in a quantitative field, 3+ years building machine learning models in production, "
        "strong Python (scikit-learn, XGBoost, PyTorch), SQL, and experience with Spark or Databricks.",
        ML_ENGINEER, "rule 5: a data scientist building, training and shipping predictive models",
    ),
    Case(
        "research-scientist-electrochemistry", "Research Scientist, Electrochemistry",
        "Voltra develops solid-state batteries for electric vehicles. In our materials group you will design and "
        "synthesise new electrolyte compositions, run electrochemical characterisation (impedance spectroscopy, "
        "cyclic voltammetry), analyse degradation mechanisms with XRD and SEM, and build cells in our dry room. You "
        "will plan experiments, document results in our lab notebook, and present findings to the engineering team "
        "that scales cells to production.\n"
        "Requirements: PhD in chemistry, materials science or electrochemistry, hands-on experience in battery "
        "research, strong experimental design skills, and publications in peer-reviewed journals.",
        NOT_AI, "a scientist of another field with no ML work",
    ),
]

BY_ID = {case.id: case for case in CASES}


def label_of(prediction) -> str:
    return prediction.role if prediction.is_ai_role else NOT_AI


# Cases the shipped model gets wrong, kept in the table and marked, never edited to pass: strict, so a model that
# gets one right fails this mark and the entry is removed. Each is named in docs/classifier.md.
KNOWN_MISSES = {
    "nlp-engineer-hosted-llm": "words, not negation: 'No model training is involved' counts as training "
                               "vocabulary and tips P(ml_engineer) just past 0.5",
}


def cases_with_known_misses() -> list:
    return [pytest.param(case, id=case.id, marks=pytest.mark.xfail(strict=True, reason=KNOWN_MISSES[case.id]))
            if case.id in KNOWN_MISSES else pytest.param(case, id=case.id) for case in CASES]


@pytest.mark.parametrize("case", cases_with_known_misses())
def test_a_reader_and_the_model_agree(role_model, case):
    (p,) = role_model.predict([(case.title, case.body)])
    got = label_of(p)
    assert got == case.expected, (
        f"{case.id}: expected {case.expected} ({case.why}), got {got} "
        f"(relevance {p.relevance_probability:.3f}, ml {p.ml_probability:.3f})"
    )


TITLES_TO_SWAP = ("Software Engineer", "AI Engineer", "ML Engineer", "LLM Engineer", "Research Scientist")
SWAP_BODY_IDS = (
    "llm-engineer-freight-assistant", "llm-engineer-post-training", "inference-engineer-serving",
    "agent-engineer-bookkeeping", "ai-agents-engineer-support", "nlp-engineer-legal-models",
    "nlp-engineer-hosted-llm", "ai-engineer-construction-assistant", "ai-engineer-robot-policies",
    "ml-engineer-title-gpt-help-centre", "research-engineer-pre-training", "computer-vision-engineer-drones",
    "founding-engineer-research-assistant", "senior-software-engineer-contract-qa",
)


@pytest.mark.parametrize("body", [BY_ID[i].body for i in SWAP_BODY_IDS], ids=list(SWAP_BODY_IDS))
def test_the_title_alone_never_flips_the_role(role_model, body):
    # The model strips the title from the text it reads, so a body quoting one of the titles would differ.
    assert not any(title.lower() in body.lower() for title in TITLES_TO_SWAP)
    predictions = role_model.predict([(title, body) for title in TITLES_TO_SWAP])
    ml = [p.ml_probability for p in predictions]
    assert ml == pytest.approx([ml[0]] * len(ml), abs=1e-9), dict(zip(TITLES_TO_SWAP, ml, strict=True))
    roles = {p.role for p in predictions if p.is_ai_role}
    assert len(roles) <= 1, dict(zip(TITLES_TO_SWAP, (p.role for p in predictions), strict=True))


NEUTRAL_BODY = "We are hiring. Apply on our website."
AI_SOUNDING_TITLES = ("AI Engineer", "LLM Engineer", "Machine Learning Engineer", "GenAI Engineer",
                      "Senior ML Engineer", "Research Scientist, AI")


def test_a_neutral_body_does_not_make_a_title_an_ai_role(role_model):
    predictions = role_model.predict([(title, NEUTRAL_BODY) for title in AI_SOUNDING_TITLES])
    too_sure = {t: round(p.relevance_probability, 3) for t, p in zip(AI_SOUNDING_TITLES, predictions, strict=True)
                if p.relevance_probability > 0.9}
    assert not too_sure, f"the title alone gave a near-certain AI role: {too_sure}"
    (sales,) = role_model.predict([("Account Executive, AI", NEUTRAL_BODY)])
    assert not sales.is_ai_role


FAMILY_CASE_IDS = (
    "llm-engineer-freight-assistant", "llm-engineer-post-training", "genai-engineer-claims",
    "generative-ai-engineer-diffusion", "inference-engineer-serving", "agent-engineer-bookkeeping",
    "ai-agents-engineer-support", "nlp-engineer-legal-models", "nlp-engineer-hosted-llm",
)


@pytest.mark.parametrize("case_id", FAMILY_CASE_IDS)
def test_ai_title_families_are_recognised_with_matching_bodies(role_model, case_id):
    case = BY_ID[case_id]
    (p,) = role_model.predict([(case.title, case.body)])
    assert p.relevance_probability >= 0.5, f"{case.title}: relevance {p.relevance_probability:.3f}"
