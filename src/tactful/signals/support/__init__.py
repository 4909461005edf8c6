"""The support-intent layer: public intent data mapped into the ``SupportIntent`` families
(``families``), real customer turns labelled for training and measuring (``turns``, rebuilt by
``labeller``), and the multilingual rules read at run time beside the fast tier's heads
(``rules``: human requests, risks, anger cues, intent hints in six languages)."""
