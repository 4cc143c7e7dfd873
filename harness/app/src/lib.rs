//! The cloud-app side of the article: Device Manager, Modify password, over the relay, direct or by an operator.
